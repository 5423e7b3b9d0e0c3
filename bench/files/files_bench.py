"""The File Processor benchmark client (started by bench/files/run.sh, which starts the server and worker)."""

from __future__ import annotations

import http.client
import io
import os
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from PIL import Image  # noqa: E402

from auth_app.services import auth_session_start  # noqa: E402
from file_processor.models import ConversionJob  # noqa: E402
from file_processor.services import conversion_start, file_store_bytes  # noqa: E402

BASE = os.environ["BENCH_URL"]
SERVER_PID = int(os.environ["SERVER_PID"])
UPLOAD_MIB = int(os.environ.get("UPLOAD_MIB", "1024"))
THUMB_RUNS = int(os.environ.get("THUMB_RUNS", "20"))
BOUNDARY = "----bench-files"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def user_and_token() -> tuple[object, str]:
    user, created = get_user_model().objects.get_or_create(email="bench-files@example.com", defaults={"name": "Bench"})
    if created:
        user.set_password("bench-files-password-123")
        user.save()
    return user, auth_session_start(user=user)["access"]


def proc_io(pid: int) -> dict[str, int]:
    """/proc/<pid>/io: `wchar` (bytes passed to write(2) and kin, sockets written with send(2) excluded),
    `write_bytes` (bytes sent to the block layer) and `cancelled_write_bytes` (dirty pages of files
    deleted before they were written back)."""
    fields = {}
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = int(value)
    return fields


def upload(base: str, path: str, pid: int, token: str, mib: int, label: str) -> float:
    """POST a `mib` MiB multipart body to base+path; print time, throughput, the server's RSS and writes.

    Returns the throughput (MiB/s).
    """
    block = (b"0123456789abcdef" * 4096)[:65536]  # text: detected as text/plain
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    url = urllib.parse.urlsplit(base)

    def send(size: int) -> tuple[int, bytes, float]:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
        conn.putrequest("POST", path)
        if token:
            conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        conn.endheaders()
        started = time.perf_counter()
        conn.send(head)
        for _ in range(size // len(block)):
            conn.send(block)
        conn.send(tail)
        response = conn.getresponse()
        body = response.read()
        return response.status, body, time.perf_counter() - started

    assert send(len(block) * 4)[0] == 201  # warm-up: imports, pools, first-request allocations
    baseline = rss_kib(pid)
    peak = [baseline]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    io_before = proc_io(pid)
    status, body, elapsed = send(mib * 1024 * 1024)
    io_after = proc_io(pid)
    stop.set()
    sampler.join()
    assert status == 201, (status, body[:300])
    mb = 1024 * 1024
    wchar = io_after["wchar"] - io_before["wchar"]
    to_disk = (io_after["write_bytes"] - io_before["write_bytes"]) - (
        io_after["cancelled_write_bytes"] - io_before["cancelled_write_bytes"]
    )
    print(
        f"upload {mib} MiB [{label}]: {elapsed:.2f} s, {mib / elapsed:.1f} MiB/s; server RSS {baseline / 1024:.1f} MiB"
        f" -> peak {peak[0] / 1024:.1f} MiB (growth {(peak[0] - baseline) / 1024:.1f} MiB); server wrote "
        f"{wchar / mb:.0f} MiB (wchar, {wchar / (mib * mb):.2f}x the file), "
        f"{to_disk / mb:.0f} MiB to disk (write_bytes - cancelled_write_bytes)"
    )
    return mib / elapsed


def stored(user: object, content: bytes, name: str) -> object:
    return file_store_bytes(owner=user, content=content, filename=name)


def run_job(user: object, source: object, target: str, options: dict) -> tuple[float, ConversionJob]:
    started = time.perf_counter()
    job = conversion_start(user=user, file_id=source.pk, target_format=target, options=options)  # type: ignore[attr-defined]
    deadline = started + 120
    while time.perf_counter() < deadline:
        row = ConversionJob.objects.get(pk=job.pk)
        if row.status in ("succeeded", "failed"):
            assert row.status == "succeeded", (row.error_code, row.error_message)
            return time.perf_counter() - started, row
        time.sleep(0.005)
    raise AssertionError("the job did not finish")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def conversions(user: object) -> None:
    # 12 MP. PHOTO=noise is the worst case (noise resists compression: a 9 MB JPEG); the default is a
    # gradient with 15 % noise, closer to a camera photo (about 4 MB).
    photo = Image.effect_noise((4000, 3000), 64).convert("RGB")
    if os.environ.get("PHOTO", "smooth") != "noise":
        photo = Image.blend(Image.linear_gradient("L").resize((4000, 3000)).convert("RGB"), photo, 0.15)
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)
    jpeg = stored(user, buffer.getvalue(), "photo.jpg")
    times = [run_job(user, jpeg, "webp", {"width": 1024})[0] for _ in range(THUMB_RUNS)]
    print(
        f"12 MP JPEG ({len(buffer.getvalue()) / 1e6:.1f} MB) -> 1024 px WebP, {THUMB_RUNS} runs end to end: "
        f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {percentile(times, 0.95) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms"
    )
    print("  each run in order (ms): " + " ".join(f"{elapsed * 1000:.0f}" for elapsed in times))
    if os.environ.get("THUMB_ONLY"):
        return
    rows = "\n".join(f"{n},item-{n},{n * 1.5:.2f},2026-11-{1 + n % 28:02d}" for n in range(100_000))
    csv = stored(user, ("id,name,price,date\n" + rows + "\n").encode(), "rows.csv")
    elapsed, _ = run_job(user, csv, "xlsx", {})
    print(f"CSV 100k rows ({csv.size / 1e6:.1f} MB) -> XLSX: {elapsed:.2f} s")  # type: ignore[attr-defined]
    chapter = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 38
    markdown = "\n\n".join(f"# Chapter {n}\n\n{chapter}\n\n{chapter}\n\n- a\n- b\n" for n in range(20))
    document = stored(user, markdown.encode(), "book.md")
    runs = [run_job(user, document, "pdf", {}) for _ in range(3)]
    pages = runs[0][1].output.metadata["pages"]  # type: ignore[union-attr]
    print(f"Markdown -> PDF ({pages} pages), 3 runs: " + ", ".join(f"{t:.2f} s" for t, _ in runs))


if __name__ == "__main__":
    user, token = user_and_token()
    if UPLOAD_MIB:
        yardstick = os.environ.get("YARDSTICK_URL")
        if yardstick:  # stock Django (bench/yardstick/minimal), same server flags, measured first
            stock = upload(yardstick, "/upload", int(os.environ["YARDSTICK_PID"]), "", UPLOAD_MIB, "min-upload")
        ours = upload(BASE, "/api/v1/files/uploads", SERVER_PID, token, UPLOAD_MIB, "ours")
        if yardstick:
            print(f"upload throughput ours / min-upload: {ours / stock:.2f}x")
    conversions(user)
