"""Reading a large file in a second process while this one writes what it has read.

An import spends some of its time reading (parsing, checking against a schema) and most of it
writing. On a machine with two cores the two can go side by side: a second process reads the
file and hands over what it read a chunk at a time, while this one checks and writes the chunks
before. The second process is a fresh Python (not a copy of this one, nor a re-run of the
script that started this one): it holds no database connection, and no lock another thread of
this process might hold.

What comes back is what the reading function yields, pickled through a pipe; an exception it
raises is raised here, as it was raised there. The pipe holds little: the reader waits while the
writer is busy, one chunk ahead at most, so memory stays flat however large the file. The reader
stops when the caller does (an error while writing, an iterator closed early).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import IO, Any

from coopmatrix.core import collecting

#: What the second process runs: it reads its task from its input, writes its chunks out.
_SERVE = "from coopmatrix.core.aside import _serve; _serve()"


class ReaderGone(RuntimeError):
    """The reading process stopped without saying why (killed, out of memory)."""


def possible() -> bool:
    """Whether a second Python can be started here (an embedded interpreter may not name its own)."""
    return bool(sys.executable)


def chunks_aside(
    function: Callable[..., Iterable[Any]],
    args: tuple[Any, ...],
    size: int,
    first: Sequence[int] = (),
) -> Iterator[list[Any]]:
    """What `function(*args)` yields, read in a second process, in lists of `size` (the first
    lists of the sizes `first` gives, if any: smaller ones reach the caller sooner, which then
    works on them while the larger ones are read). `function` (of a module) and `args` go to the
    other process by pickling."""
    # The same code as here, wherever the other process starts: the package's own directory first.
    paths = [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]
    reader = subprocess.Popen(
        [sys.executable, "-c", _SERVE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))},
    )
    stdin, stdout = reader.stdin, reader.stdout
    assert stdin is not None and stdout is not None
    try:
        pickle.dump((function, args, [*first, size]), stdin, protocol=pickle.HIGHEST_PROTOCOL)
        stdin.close()
        while True:
            try:
                kind, payload = pickle.load(stdout)
            except EOFError:
                reader.wait()
                raise ReaderGone(
                    f"the process reading the file stopped before the end (exit code {reader.returncode})"
                ) from None
            if kind == "end":
                return
            if kind == "raised":
                raise payload
            yield payload
    finally:
        if reader.poll() is None:
            reader.kill()
        reader.wait()
        stdout.close()


def _serve() -> None:
    """The second process: the task from standard input, the chunks to standard output."""
    source, out = sys.stdin.buffer, sys.stdout.buffer
    collecting.for_this_process()
    # Nothing else may write to the pipe the chunks go through.
    sys.stdout = sys.stderr
    function, args, sizes = pickle.load(source)
    sender = _Sender(out)
    try:
        items = iter(function(*args))
        # The sizes in turn, the last one for the rest.
        while chunk := list(islice(items, sizes[0] if len(sizes) == 1 else sizes.pop(0))):
            sender.send(("chunk", chunk))
    except Exception as exc:  # noqa: BLE001 - whatever it is, the writer raises it
        sender.send(("raised", _picklable(exc)))
    else:
        sender.send(("end", None))
    sender.wait()


class _Sender:
    """Writes each message to the pipe, pickled whole, from a thread of its own, while the next
    chunk is read; a message waits for the one before to be taken. Pickled into the pipe, a chunk
    was made while the writer waited for it (the pipe holds 64 KB): some 0.4 s of an import of
    5,000 activities' 12. Pickled whole and written here, the reading waited for the writer to
    take it: a re-import, where the reading sets the pace, took 8 % longer."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._thread: threading.Thread | None = None

    def send(self, message: tuple[str, Any]) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self.wait()
        self._thread = threading.Thread(target=self._write, args=(data,), daemon=True)
        self._thread.start()

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def _write(self, data: bytes) -> None:
        try:
            self._out.write(data)
            self._out.flush()
        except BrokenPipeError:
            os._exit(0)  # the writer stopped reading: nothing left to do


def _picklable(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - an exception that does not travel goes as its text
        return RuntimeError("".join(traceback.format_exception(exc)))
    return exc
