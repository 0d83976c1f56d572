// The JSON API, called exactly as any client calls it. Authentication is the HttpOnly session
// cookie set by POST /api/auth/session: scripts never see the token, so a script smuggled in
// through a title could not read it. Unsafe methods carry `X-CSRF: 1`, which a cross-site form
// cannot send (and the cookie is SameSite=Strict anyway).

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function headersFor(method) {
  const headers = { Accept: "application/json" };
  if (UNSAFE.has(method)) headers["X-CSRF"] = "1";
  return headers;
}

async function errorFrom(response) {
  let detail = `The server answered ${response.status}.`;
  try {
    const body = await response.json();
    if (typeof body.detail === "string") detail = body.detail;
  } catch {
    // Not JSON (a proxy's error page): keep the generic sentence.
  }
  return new ApiError(response.status, detail);
}

export async function api(path, { method = "GET", json } = {}) {
  const headers = headersFor(method);
  const init = { method, headers, credentials: "same-origin" };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "The server cannot be reached; check your connection and try again.");
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  return response.json();
}

/** Multipart upload through XMLHttpRequest, the one browser API that reports upload progress. */
export function uploadVideo(form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/videos/upload");
    for (const [name, value] of Object.entries(headersFor("POST"))) {
      xhr.setRequestHeader(name, value);
    }
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      const body = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else {
        const detail = body && typeof body.detail === "string" ? body.detail : `The server answered ${xhr.status}.`;
        reject(new ApiError(xhr.status, detail));
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "The upload was interrupted; try again.")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "The upload was cancelled.")));
    xhr.send(form);
  });
}
