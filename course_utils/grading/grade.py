"""``pix2pix grade ASSIGNMENT --jobs N``: autograde a class in parallel, each student in a
sandbox.

For every student with a submission under ``submitted/<student>/<ASSIGNMENT>/``:

1. **audit**: :func:`course_utils.grading.audit.audit_notebook` against the release notebook;
2. **scratch copy**: a fresh folder with ``nbgrader_config.py``, a copy of the course's
   ``gradebook.db`` from which every *other* student was removed, and only this student's
   submission (no ``solutions/``, no other submissions, no real gradebook);
3. **sandbox**: ``nbgrader autograde ASSIGNMENT --student=ID`` runs there, where the platform
   allows it inside ``unshare`` namespaces: no network (an empty network namespace), its own PID
   namespace (every process the student starts dies with it), and a mount namespace in which the
   course's ``gradebook.db`` is replaced by ``/dev/null`` and ``submitted/``, ``autograded/``,
   ``feedback/``, the source folder and the other students' scratch folders are empty ``tmpfs``.
   Without ``unshare`` (or with ``--no-isolation``) the same runs unisolated, in its own session,
   and the report says so: then run the command itself inside a container or VM;
4. **limits**: an address-space limit (``--memory-mb``, ``RLIMIT_AS``, inherited by the kernel)
   and a wall-clock limit (``--time-limit``); a student over the time limit gets 0 for the
   assignment;
5. **merge**: the scratch gradebook's automatic scores are copied into the course's
   ``gradebook.db`` (clamped to ``[0, max score]`` of the course's own cells, so a sandbox whose
   gradebook was tampered with cannot give more), the autograded notebooks into
   ``autograded/<student>/``, and notebooks flagged by the audit are marked for manual review.
   A scratch gradebook that cannot be read scores 0. ``nbgrader generate_feedback`` and
   formgrader then work as after ``nbgrader autograde``.

Inside each sandbox the course's executor (``course_utils.grading.autograde.GuardedExecute``)
checks the kernel's integrity before every test cell and scores the remaining cells 0 when the
kernel dies (``os._exit``, a segfault, out of memory).

Limits: the sandbox hides the course's files by path; a student's code can still read what any
process of your user can read elsewhere on the machine (home folders, other courses) unless you
run ``pix2pix grade`` in a container. The memory limit is on address space, which PyTorch
inflates by about 3.5 GB at import; ``--memory-mb`` below about 5000 stops torch from loading.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from course_utils.errors import CourseError

UNSHARE_ARGS = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount",
                "--map-root-user"]
# A new network namespace has only the loopback interface, and it is down; Jupyter kernels talk to
# nbgrader over 127.0.0.1, so bring it up (SIOCGIFFLAGS / SIOCSIFFLAGS with IFF_UP). No other
# network.
LOOPBACK_UP = (
    "import fcntl, socket, struct; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
    "f = struct.unpack('16sH14s', "
    "fcntl.ioctl(s, 0x8913, struct.pack('16sH14s', b'lo', 0, b'')))[1]; "
    "fcntl.ioctl(s, 0x8914, struct.pack('16sH14s', b'lo', f | 1, b''))"
)


@dataclass
class StudentResult:
    student: str
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    status: str = "graded"            # graded | timeout | failed
    isolation: str = ""
    flagged: list = field(default_factory=list)
    detail: str = ""


def _nbgrader_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("PIX2PIX_FAST", None)  # fast mode comes from NBGRADER_EXECUTION, as in plain nbgrader
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    return env


def isolation_available() -> bool:
    """Whether ``unshare`` can create network, PID, mount and user namespaces here."""
    if shutil.which("unshare") is None:
        return False
    try:
        script = (f"mount -t tmpfs tmpfs /tmp && {shlex.quote(sys.executable)} "
                  f"-c {shlex.quote(LOOPBACK_UP)} && echo ok")
        proc = subprocess.run(UNSHARE_ARGS + ["sh", "-c", script],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and proc.stdout.strip() == "ok"


def _gradebook(path: Path):
    os.environ["PATH"] = _nbgrader_env()["PATH"]  # nbgrader runs the `alembic` executable
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{path}")


def _scratch(course: Path, parent: Path, assignment: str, student: str, others: list[str]) -> Path:
    scratch = parent / student
    (scratch / "submitted" / student).mkdir(parents=True)
    shutil.copy(course / "nbgrader_config.py", scratch / "nbgrader_config.py")
    shutil.copy(course / "gradebook.db", scratch / "gradebook.db")
    shutil.copytree(course / "submitted" / student / assignment,
                    scratch / "submitted" / student / assignment)
    with _gradebook(scratch / "gradebook.db") as gb:
        for other in others:
            try:
                gb.remove_student(other)
            except Exception:  # noqa: BLE001 - not in the gradebook: nothing to hide
                pass
    return scratch


def _sandbox_script(course: Path, parent: Path, scratch: Path, own: Path, source_dir: str) -> str:
    """The shell lines run inside the namespaces before nbgrader (mounts that hide the course)."""
    q = shlex.quote
    lines = ["set -e", f"{q(sys.executable)} -c {q(LOOPBACK_UP)}",
             f"mount --bind {q(str(scratch))} {q(str(own))}",
             f"mount -t tmpfs tmpfs {q(str(parent))}"]
    for name in ("submitted", "autograded", "feedback", source_dir, "exchange"):
        if (course / name).is_dir():
            lines.append(f"mount -t tmpfs tmpfs {q(str(course / name))}")
    if (course / "gradebook.db").exists():
        lines.append(f"mount --bind /dev/null {q(str(course / 'gradebook.db'))}")
    lines.append(f"cd {q(str(own))}")
    lines.append('exec "$@"')
    return "\n".join(lines)


def _limits(memory_mb: int):
    def apply():
        os.setsid()
        if memory_mb:
            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def grade_one(course: Path, parent: Path, assignment: str, student: str, others: list[str], *,
              isolate: bool, memory_mb: int, time_limit: float,
              source_dir: str) -> tuple[StudentResult, Path]:
    """Autograde one student in a scratch sandbox; returns the result and the scratch folder."""
    result = StudentResult(student, isolation="unshare (no network, own PID and mount namespaces)"
                           if isolate else "none (unshare unavailable or --no-isolation)")
    start = time.monotonic()
    scratch = _scratch(course, parent, assignment, student, others)
    cmd = [sys.executable, "-m", "nbgrader", "autograde", assignment, f"--student={student}",
           "--force", "--log-level=WARN"]
    if isolate:
        own = Path(tempfile.mkdtemp(prefix=f"pix2pix-own-{student}-"))
        cmd = UNSHARE_ARGS + ["sh", "-c", _sandbox_script(course, parent, scratch, own, source_dir),
                              "sandbox"] + cmd
        cwd = scratch
    else:
        own, cwd = None, scratch
    proc = subprocess.Popen(cmd, cwd=cwd, env=_nbgrader_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=_limits(memory_mb))
    try:
        out, _ = proc.communicate(timeout=time_limit)
        if proc.returncode != 0:
            result.status, result.detail = ("failed", f"nbgrader exited with {proc.returncode}: "
                                                      f"{out[-500:]}")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        result.status, result.detail = ("timeout", f"over the time limit of {time_limit:.0f} s: "
                                                   "every test scores 0")
    finally:
        if own is not None:
            shutil.rmtree(own, ignore_errors=True)
    result.seconds = round(time.monotonic() - start, 1)
    return result, scratch


def _scratch_scores(scratch: Path, assignment: str,
                    student: str) -> dict[tuple[str, str], tuple[float, bool, str]]:
    """{(notebook, grade cell): (auto score, needs manual grade, auto comment)} from a scratch
    gradebook."""
    scores = {}
    with _gradebook(scratch / "gradebook.db") as gb:
        sub = gb.find_submission(assignment, student)
        for nb in sub.notebooks:
            for g in nb.grades:
                scores[(nb.name, g.name)] = (float(g.auto_score or 0.0),
                                             bool(g.needs_manual_grade), "")
    return scores


def merge(course: Path, scratch: Path, assignment: str, result: StudentResult) -> None:
    """Copy one student's scores and autograded notebooks from the scratch folder into the
    course."""
    student = result.student
    try:
        scores = _scratch_scores(scratch, assignment, student) if result.status == "graded" else {}
    except Exception as err:  # noqa: BLE001 - a corrupted sandbox gradebook scores 0
        scores, result.status = {}, "failed"
        result.detail = (f"the sandbox's gradebook could not be read ({type(err).__name__}): "
                         "every test scores 0")
    if result.status == "graded" and not scores:
        result.status, result.detail = ("failed",
                                        "no scores in the sandbox's gradebook: every test scores 0")
    timestamp = None
    stamp = course / "submitted" / student / assignment / "timestamp.txt"
    if stamp.is_file():
        timestamp = stamp.read_text().strip() or None
    with _gradebook(course / "gradebook.db") as gb:
        gb.update_or_create_student(student)
        sub = gb.update_or_create_submission(assignment, student,
                                             **({"timestamp": timestamp} if timestamp else {}))
        total = max_total = 0.0
        for nb in sub.notebooks:
            for g in nb.grades:
                score, manual, _ = scores.get((nb.name, g.name), (0.0, False, ""))
                g.auto_score = min(max(score, 0.0), float(g.max_score or 0.0))
                g.needs_manual_grade = manual
                total += g.auto_score
                max_total += float(g.max_score or 0.0)
        gb.db.commit()
    result.score, result.max_score = total, max_total
    target = course / "autograded" / student / assignment
    graded = scratch / "autograded" / student / assignment
    if target.exists():
        shutil.rmtree(target)
    if graded.is_dir() and result.status == "graded":
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(graded, target)


def grade(course: Path, assignment: str, *, jobs: int = 2, students: list[str] | None = None,
          isolate: bool | None = None, memory_mb: int = 8192, time_limit: float = 1800.0,
          keep_scratch: bool = False, log=print) -> list[StudentResult]:
    """Grade every (or the given) student's submission of ``assignment``; see the module
    docstring.

    Raises:
        CourseError: no gradebook, an assignment unknown to it, or no submissions, with the fix.
    """
    from course_utils.grading.audit import audit_notebook, mark_for_review

    course = course.resolve()
    if not (course / "gradebook.db").is_file() or not (course / "nbgrader_config.py").is_file():
        raise CourseError(f"{course} has no gradebook.db or nbgrader_config.py: run `make release` "
                          "(or nbgrader generate_assignment) in the course folder first")
    with _gradebook(course / "gradebook.db") as gb:
        try:
            gb.find_assignment(assignment)
        except Exception:  # noqa: BLE001 - nbgrader's MissingEntry
            raise CourseError(f"{assignment} is not in {course / 'gradebook.db'}: run "
                              f"`python scripts/generate_release.py {assignment}` first") from None
        known = [s.id for s in gb.students]
    submitted = sorted(p.parent.name for p in (course / "submitted").glob(f"*/{assignment}")
                       if p.is_dir())
    if students:
        missing = sorted(set(students) - set(submitted))
        if missing:
            raise CourseError(f"no submission of {assignment} under submitted/ for {missing}")
        submitted = [s for s in submitted if s in students]
    if not submitted:
        raise CourseError(f"no submissions: expected submitted/<student>/{assignment}/*.ipynb "
                          f"under {course}")
    if isolate is None:
        isolate = isolation_available()
    source_dir = "solutions" if (course / "solutions").is_dir() else "source"
    release = (next((course / "notebooks" / assignment).glob("*.ipynb"), None)
               if (course / "notebooks").is_dir() else None)

    flagged = {}
    for student in submitted:
        for nb in sorted((course / "submitted" / student / assignment).glob("*.ipynb")):
            rel = (course / "notebooks" / assignment / nb.name) if release else None
            findings = audit_notebook(nb, rel if rel and rel.is_file() else None)
            if findings:
                flagged.setdefault(student, {})[nb.stem] = findings

    everyone = sorted(set(known)
                      | set(p.name for p in (course / "submitted").iterdir() if p.is_dir()))
    parent = Path(tempfile.mkdtemp(prefix=f"pix2pix-grade-{assignment}-"))
    results = []
    log(f"grading {len(submitted)} submission(s) of {assignment} with {jobs} job(s); isolation: "
        f"{'unshare' if isolate else 'NONE (run this command in a container)'}")
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(grade_one, course, parent, assignment, s,
                                   [o for o in everyone if o != s],
                                   isolate=isolate, memory_mb=memory_mb, time_limit=time_limit,
                                   source_dir=source_dir): s for s in submitted}
            for future in concurrent.futures.as_completed(futures):
                result, scratch = future.result()
                merge(course, scratch, assignment, result)  # one at a time: this thread only
                if result.student in flagged:
                    result.flagged = [str(f) for fs in flagged[result.student].values() for f in fs]
                    for notebook, findings in flagged[result.student].items():
                        mark_for_review(f"sqlite:///{course / 'gradebook.db'}", assignment,
                                        result.student, notebook, findings)
                if not keep_scratch:
                    shutil.rmtree(scratch, ignore_errors=True)
                results.append(result)
                log(f"  {result.student}: {result.score:g}/{result.max_score:g} "
                    f"({result.status}, {result.seconds} s)"
                    + (f", FLAGGED for review ({len(result.flagged)} finding(s))"
                       if result.flagged else "")
                    + (f": {result.detail}" if result.detail else ""))
    finally:
        if not keep_scratch:
            shutil.rmtree(parent, ignore_errors=True)
    return sorted(results, key=lambda r: r.student)


def _cmd_grade(args) -> int:
    results = grade(Path(args.course_root), args.assignment, jobs=args.jobs,
                    students=args.student or None, isolate=False if args.no_isolation else None,
                    memory_mb=args.memory_mb, time_limit=args.time_limit,
                    keep_scratch=args.keep_scratch)
    if args.report:
        Path(args.report).write_text(json.dumps([asdict(r) for r in results], indent=2))
    flagged = [r for r in results if r.flagged]
    for r in flagged:
        print(f"\nFLAGGED {r.student}:")
        for f in r.flagged:
            print("  " + f.replace("\n", "\n  "))
    return 0


def add_parser(sub) -> None:
    """Register ``pix2pix grade`` on the CLI's subparsers."""
    g = sub.add_parser("grade",
                       help="autograde a class in parallel, each student in a sandbox (nbgrader)")
    g.add_argument("assignment", help="an assignment of the gradebook, e.g. 02_patchgan")
    g.add_argument("--course-root", default=".", help="the nbgrader course folder (default: .)")
    g.add_argument("--jobs", "-j", type=int, default=2,
                   help="students graded at the same time (default 2)")
    g.add_argument("--student", action="append", help="grade only this student (repeatable)")
    g.add_argument("--memory-mb", type=int, default=8192,
                   help="address-space limit per student in MiB (default 8192; torch alone "
                        "takes ~3500)")
    g.add_argument("--time-limit", type=float, default=1800.0,
                   help="seconds per student (default 1800)")
    g.add_argument("--no-isolation", action="store_true", help="do not use unshare namespaces")
    g.add_argument("--keep-scratch", action="store_true",
                   help="keep the scratch folders (debugging)")
    g.add_argument("--report", default=None, help="also write the results as JSON to this file")
    g.set_defaults(func=_cmd_grade)
