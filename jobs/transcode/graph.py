"""Build the single ffmpeg invocation (one timeline, no concat).

The main part is trimmed, normalised to 30 fps CFR (time base 1/30), scaled into 1280x720 with its
display aspect kept (pixel aspect and rotation honoured) and padded black, then watermarked. The
bumpers are black frames added before and after it with `tpad` on the same timeline, and the logo
is overlaid on them by time (`enable=`). Measured on 2 cores this is both faster and far lighter
than building bumpers as separate streams joined with `concat` (which buffers later segments and,
on ffmpeg 5.1, can run without end when frame rates differ): see /work/shared/notes/ffmpeg.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .probe import ProbeResult
from .settings import TranscodeSettings

WIDTH, HEIGHT = 1280, 720
WATERMARK_HEIGHT = 96  # px on the 720p frame
WATERMARK_MARGIN = 24
WATERMARK_OPACITY = 0.7
BUMPER_LOGO_HEIGHT = 320


@dataclass(frozen=True)
class Plan:
    """What the command will produce, in frames (exact integers avoid float drift at the edges)."""

    fps: int
    main_frames: int
    bumper_frames: int
    poster_frame: int  # index within the main part

    @property
    def total_frames(self) -> int:
        return self.main_frames + 2 * self.bumper_frames

    @property
    def main_seconds(self) -> float:
        return self.main_frames / self.fps

    @property
    def bumper_seconds(self) -> float:
        return self.bumper_frames / self.fps

    @property
    def total_seconds(self) -> float:
        return self.total_frames / self.fps


def plan_for(p: ProbeResult, s: TranscodeSettings) -> Plan:
    fps = s.output_fps
    main_frames = max(1, round(min(s.max_clip_seconds, p.duration) * fps))
    return Plan(
        fps=fps,
        main_frames=main_frames,
        bumper_frames=round(s.bumper_seconds * fps),
        poster_frame=min(main_frames - 1, main_frames // 3),
    )


def filter_graph(p: ProbeResult, s: TranscodeSettings, plan: Plan) -> str:
    fps, b, m = plan.fps, plan.bumper_frames, plan.main_frames
    # Fit inside 1280x720 using the display aspect `dar` (= iw/ih*sar, evaluated after ffmpeg's
    # automatic rotation), even sizes for yuv420p; then square pixels and centred black bars.
    fit_w = f"if(gte(dar\\,{WIDTH}/{HEIGHT})\\,{WIDTH}\\,2*round({HEIGHT}*dar/2))"
    fit_h = f"if(gte(dar\\,{WIDTH}/{HEIGHT})\\,2*round({WIDTH}/dar/2)\\,{HEIGHT})"
    # Bumper logo only outside the main part: frame times are k/fps exactly, half-frame margins
    # keep the comparisons away from float rounding at the boundaries.
    intro_end = (b - 0.5) / fps
    outro_start = (b + m - 0.5) / fps
    chains = [
        # setpts: streams that start at a non-zero timestamp begin at 0; fps before scale so a
        # 60 fps input is scaled at 30 fps; trim gives an exact frame count for the timeline.
        f"[0:{p.stream_index}]setpts=PTS-STARTPTS,fps={fps},settb=1/{fps},trim=end_frame={m},"
        f"scale=w='{fit_w}':h='{fit_h}',format=yuv420p,setsar=1,"
        f"pad={WIDTH}:{HEIGHT}:(ow-iw)/2:(oh-ih)/2:color=black[main]",
        "[1:v]format=rgba,split=2[logo_a][logo_b]",
        f"[logo_a]scale=-2:{WATERMARK_HEIGHT},colorchannelmixer=aa={WATERMARK_OPACITY}[wm]",
        f"[logo_b]scale=-2:{BUMPER_LOGO_HEIGHT}[bumper_logo]",
        f"[main][wm]overlay=x=W-w-{WATERMARK_MARGIN}:y=H-h-{WATERMARK_MARGIN}:format=yuv420[marked]",
        # setpts=N: ffmpeg 5.1's tpad stamps its first stop frame with the last frame's pts (a
        # duplicate the CFR muxer then drops); the timeline is CFR here, so number the frames.
        f"[marked]tpad=start={b}:stop={b}:color=black,setpts=N/({fps}*TB)[padded]",
        f"[padded][bumper_logo]overlay=x=(W-w)/2:y=(H-h)/2:format=yuv420:"
        f"enable='lt(t\\,{intro_end:.6f})+gte(t\\,{outro_start:.6f})',format=yuv420p[out]",
    ]
    return ";".join(chains)


def build_command(
    p: ProbeResult,
    s: TranscodeSettings,
    plan: Plan,
    input_path: Path,
    output_path: Path,
) -> list[str]:
    return [
        s.ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "warning",
        # Machine-readable progress on stdout, once a second; no human stats on stderr.
        "-progress",
        "pipe:1",
        "-stats_period",
        "1",
        "-nostats",
        # Input-side trim: nothing after max_clip_seconds is read or decoded; audio, subtitles
        # and data streams are never demuxed.
        "-t",
        f"{s.max_clip_seconds:g}",
        "-an",
        "-sn",
        "-dn",
        "-i",
        str(input_path),
        "-i",
        str(s.logo_path),
        "-filter_complex",
        filter_graph(p, s, plan),
        "-map",
        "[out]",
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-c:v",
        "libx264",
        "-preset",
        s.x264_preset,
        "-crf",
        str(s.x264_crf),
        "-pix_fmt",
        "yuv420p",
        "-r",
        str(plan.fps),
        "-fps_mode",
        "cfr",
        "-frames:v",
        str(plan.total_frames),  # hard upper bound on the output length
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        str(output_path),
    ]


def poster_command(
    s: TranscodeSettings, plan: Plan, output_path: Path, poster_path: Path
) -> list[str]:
    """The poster is read back from the 720p output rather than split off inside the graph: a
    second output that waits for a frame from the middle of the clip makes ffmpeg buffer every
    frame before it (measured: +70 MB for a 5 s clip, growing with the clip). Seeking in the
    720p output and decoding one frame costs a fraction of a second."""
    at = plan.bumper_seconds + plan.poster_frame / plan.fps
    return [
        s.ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-ss",
        f"{at:.3f}",
        "-i",
        str(output_path),
        "-frames:v",
        "1",
        "-q:v",
        "3",
        "-update",
        "1",
        "-f",
        "image2",
        str(poster_path),
    ]


def time_limit(plan: Plan, s: TranscodeSettings) -> float:
    """Wall-clock limit for ffmpeg, derived from the length of what it has to produce."""
    return max(s.ffmpeg_timeout_min_seconds, s.ffmpeg_timeout_factor * plan.total_seconds)
