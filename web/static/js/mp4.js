// The upload rules checked in the browser before anything is sent (the API checks them again):
// at most 100 MB, and an MP4 by its content — the `ftyp` box naming an MP4 brand, as
// vidpipe/mp4.py does on the server — not by the file's name.

export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
const HEAD_BYTES = 64;
// Keep in step with vidpipe/mp4.py MP4_BRANDS (QuickTime's "qt  " is a different container).
const MP4_BRANDS = new Set([
  "isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso7", "iso8", "iso9",
  "mp41", "mp42", "avc1", "M4V ", "M4VP", "dash", "mmp4", "MSNV", "f4v ",
]);

export function isMp4Head(bytes) {
  if (bytes.length < 12) return false;
  const text = (from, to) => String.fromCharCode(...bytes.subarray(from, to));
  if (text(4, 8) !== "ftyp") return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxSize = view.getUint32(0);
  if (boxSize < 16 && boxSize !== 0) return false;
  const end = Math.min(bytes.length, boxSize || bytes.length);
  const brands = [text(8, 12)];
  for (let i = 16; i < end - 3; i += 4) brands.push(text(i, i + 4));
  return brands.some((brand) => MP4_BRANDS.has(brand));
}

function readHead(file) {
  // FileReader on a slice: only the first bytes are read, whatever the file's size.
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(file.slice(0, HEAD_BYTES));
  });
}

/** The reason the file cannot be uploaded, or null when it passes the rules. */
export async function uploadProblem(file) {
  if (!file) return "Choose a video file.";
  if (file.size === 0) return "The file is empty.";
  if (file.size > MAX_UPLOAD_BYTES) {
    const mb = (file.size / (1024 * 1024)).toFixed(1);
    return `The file is ${mb} MB; the limit is 100 MB.`;
  }
  const head = await readHead(file);
  if (!isMp4Head(head)) return "The file is not an MP4 video (checked by its content, not its name).";
  return null;
}
