"""Static audit of submitted notebooks: code that could cheat the autograder, found by its syntax.

``pix2pix audit`` (and ``pix2pix grade``) run it before autograding. Every code cell that the
student can change is parsed with :mod:`ast` (IPython's ``!shell`` and ``%magic`` lines are first
turned into Python by IPython's own input transformer), and these are flagged:

====================  ===========================================================================
rule                  what it flags
====================  ===========================================================================
module-attribute      assigning or deleting an attribute of an imported name (``torch.allclose =
                      ...``, ``np.testing.x = ...``, ``check_close.__code__ = ...``),
                      ``setattr``/``delattr`` on one, or with a ``__dunder__`` name
dunder-attribute      assigning a ``__dunder__`` attribute of anything (``obj.__class__ = ...``)
rebinds-helper        rebinding a name the notebook imports from ``course_utils`` (``check_close
                      = ...``), or editing ``globals()``/``vars()``/``locals()``
builtins              any use of the ``builtins`` module or ``__builtins__``
sys-modules           any use of ``sys.modules``
frame-access          ``sys._getframe``, ``inspect.currentframe``/``stack``, ``f_back``,
                      ``f_locals``/``f_globals``, ``gc.get_objects``/``get_referrers``,
                      ``sys.settrace``/``setprofile`` (reading or changing the tests' frames)
dynamic-code          ``exec``, ``eval``, ``compile``, ``__import__``, ``importlib``, ``runpy``,
                      ``types.FunctionType``/``CodeType``
shell                 shell commands and magics (``!cmd``, ``%%bash``, ``os.system``,
                      ``subprocess``)
process               ``ctypes``/``cffi``, ``os._exit``, ``os.kill``, ``os.abort``, ``os.fork``,
                      ``signal``, ``faulthandler``, ``resource``, ``multiprocessing``, ``threading``
file-access           ``open``/``Path``/``os``/``shutil``/``glob`` calls whose literal path is
                      absolute, goes up (``..``) or names nbgrader's files and folders
                      (``gradebook``, ``submitted``, ``autograded``, ``solutions``, ``.ipynb``,
                      ``.db``...); any string that mentions ``gradebook``; ``sqlite3``;
                      ``os.chdir``
network               ``socket``, ``urllib``, ``http``, ``requests``, ``httpx``, ``ftplib``,
                      ``smtplib``, ``aiohttp``, ``websockets``, ``torch.hub``
suspicious-class      a class deriving from ``torch.Tensor``, ``numpy.ndarray`` or a builtin value
                      type, or defining comparison/conversion hooks (``__eq__``, ``__bool__``,
                      ``__torch_function__``, ``__instancecheck__``...)
ignores-arguments     a function with parameters that uses none of them (a hard-coded answer)
unparsable            a cell that is not valid Python (it cannot be audited)
====================  ===========================================================================

Which cells: every code cell except the test cells and other locked cells (nbgrader puts the
instructor's version back before grading). Given the release notebook, a cell whose source is the
same as the release's cell with the same id is skipped too: the instructor wrote it.

Limits: a static audit sees what the code *says*, not what it computes. A path built at run time
(``"grade" + "book.db"``), an attribute name from ``getattr`` with a computed string, or a module
reached through an object's attributes can hide from it; the runtime checks
(:mod:`course_utils.grading.integrity`) and the sandbox of ``pix2pix grade`` are the other layers. A
finding is a reason for a human to look, not a verdict: the report names the notebook, cell and
line.
"""

from __future__ import annotations

import ast
import json
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Finding", "audit_notebook", "audit_source", "format_report", "mark_for_review"]

_STUDENT_TAG = "course_utils audit"

_DUNDER_HOOKS = {
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__float__", "__int__",
    "__index__", "__hash__", "__torch_function__", "__torch_dispatch__", "__array__",
    "__array_function__", "__array_ufunc__", "__instancecheck__", "__subclasscheck__",
    "__getattribute__", "__class_getitem__", "__abs__", "__sub__", "__rsub__", "__complex__",
    "__round__",
}
_VALUE_BASES = {"Tensor", "ndarray", "int", "float", "bool", "str", "tuple", "list", "dict",
                "complex", "Size", "Parameter", "integer", "floating"}
_FRAME_ATTRS = {"f_back", "f_locals", "f_globals", "f_builtins", "gi_frame", "tb_frame",
                "cr_frame", "f_code", "__globals__", "__closure__"}
_FRAME_CALLS = {("sys", "_getframe"), ("sys", "settrace"), ("sys", "setprofile"),
                ("inspect", "currentframe"), ("inspect", "stack"), ("inspect", "getouterframes"),
                ("inspect", "trace"), ("gc", "get_objects"), ("gc", "get_referrers"),
                ("gc", "get_referents"), ("threading", "settrace"), ("sys", "_current_frames")}
_DYNAMIC_NAMES = {"exec", "eval", "compile", "__import__"}
_DYNAMIC_MODULES = {"importlib", "runpy", "imp", "code", "codeop", "pickle", "marshal", "dill",
                    "cloudpickle"}
_SHELL_MODULES = {"subprocess", "pty", "sh", "pexpect"}
_PROCESS_MODULES = {"ctypes", "cffi", "signal", "faulthandler", "resource", "multiprocessing",
                    "threading", "_thread", "concurrent", "atexit", "mmap"}
_NETWORK_MODULES = {"socket", "urllib", "urllib3", "http", "requests", "httpx", "ftplib", "smtplib",
                    "aiohttp", "websocket", "websockets", "telnetlib", "xmlrpc", "paramiko", "ssl",
                    "poplib", "imaplib", "socketserver", "asyncio"}
_FILE_MODULES = {"sqlite3", "dbm", "shelve"}
_OS_PROCESS = {"_exit", "kill", "killpg", "abort", "fork", "forkpty", "execv", "execve", "execl",
               "execlp", "execvp", "execvpe", "spawnl", "spawnv", "spawnve", "posix_spawn",
               "setsid", "setuid"}
_OS_SHELL = {"system", "popen"}
_FILE_CALLS = {"open", "Path", "PurePath", "read_text", "read_bytes", "write_text", "write_bytes",
               "unlink", "remove", "rename", "replace", "rmdir", "rmtree", "copy", "copy2",
               "copyfile", "copytree", "move", "listdir", "scandir", "walk", "glob", "iglob",
               "rglob", "load", "save", "loadtxt", "savetxt", "read", "mkdir", "makedirs",
               "symlink", "link", "chmod", "touch", "imread", "imsave", "read_notebook", "utime",
               "truncate", "stat", "exists", "is_file"}
_PATH_WORDS = ("gradebook", "submitted", "autograded", "feedback", "solutions", "source", "release",
               "nbgrader", ".ipynb", ".db", "~", "/etc", "/home", "/root", "/tmp", "exchange")
_SHELL_MAGICS = {"system", "getoutput", "run_cell_magic", "run_line_magic", "run_cell", "ex", "ev"}


@dataclass
class Finding:
    """One flagged line: where it is, which rule, and why."""

    notebook: str
    cell: int          # index of the cell in the notebook (0-based)
    cell_id: str       # the cell's id, or its nbgrader grade_id when it has one
    line: int          # line in the cell (1-based)
    rule: str
    message: str
    code: str          # the flagged line, stripped

    def __str__(self) -> str:
        return f"{self.notebook}: cell {self.cell} ({self.cell_id}), line {self.line}: " \
               f"[{self.rule}] {self.message}\n    {self.code}"


def _to_python(source: str) -> str:
    """IPython syntax (``!cmd``, ``%magic``) turned into the Python that IPython would run."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython is a dependency of the course
        return source
    return TransformerManager().transform_cell(source)


def _root_name(node) -> str | None:
    """``a`` for ``a.b.c``, ``a[0].b``, ``a().b``; None when the chain does not start with a
    name."""
    while True:
        if isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def _dotted(node) -> str:
    """``a.b.c`` for an attribute chain of names, else ``""``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _strings(node):
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            yield sub.value


def _suspicious_path(text: str) -> bool:
    low = text.lower()
    return text.startswith(("/", "~")) or ".." in text or any(w in low for w in _PATH_WORDS)


class _Visitor(ast.NodeVisitor):
    def __init__(self, imported: dict[str, str], course_names: set[str]):
        self.imported = imported          # local name -> module or object it was imported from
        # names imported from course_utils anywhere in the notebook
        self.course_names = course_names
        self.found: list[tuple[int, str, str]] = []

    def flag(self, node, rule, message):
        self.found.append((getattr(node, "lineno", 1), rule, message))

    # --- imports -------------------------------------------------------------------------------
    def _module_rules(self, node, module: str):
        top = module.split(".")[0]
        if top in _DYNAMIC_MODULES:
            self.flag(node, "dynamic-code", f"imports {module}: loading code dynamically")
        elif top in _SHELL_MODULES:
            self.flag(node, "shell", f"imports {module}: running other programs")
        elif top in _PROCESS_MODULES:
            self.flag(node, "process", f"imports {module}: low-level process control")
        elif top in _NETWORK_MODULES:
            self.flag(node, "network", f"imports {module}: network access")
        elif top in _FILE_MODULES:
            self.flag(node, "file-access", f"imports {module}: databases such as gradebook.db")
        elif top == "builtins":
            self.flag(node, "builtins", "imports builtins")
        elif module in ("torch.hub",):
            self.flag(node, "network", "imports torch.hub: downloads")

    def visit_Import(self, node):
        for alias in node.names:
            self._module_rules(node, alias.name)
            if (alias.asname and alias.asname in self.course_names
                    and not alias.name.startswith("course_utils")):
                self.flag(node, "rebinds-helper",
                          f"rebinds {alias.asname}, which the notebook imports from course_utils")
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        self._module_rules(node, module)
        for alias in node.names:
            full = f"{module}.{alias.name}"
            if not self._is_course(module):
                self._module_rules(node, full) if full.split(".")[0] in ("os",) else None
                if (alias.asname or alias.name) in self.course_names:
                    self.flag(node, "rebinds-helper",
                              f"rebinds {alias.asname or alias.name}, which the notebook imports "
                              "from course_utils")
            if module == "os" and alias.name in _OS_PROCESS | _OS_SHELL:
                self.flag(node, "process", f"imports os.{alias.name}")
            if module == "sys" and alias.name in ("modules", "_getframe", "settrace", "setprofile"):
                self.flag(node, "sys-modules" if alias.name == "modules" else "frame-access",
                          f"imports sys.{alias.name}")
        self.generic_visit(node)

    @staticmethod
    def _is_course(module: str) -> bool:
        return module == "course_utils" or module.startswith("course_utils.")

    # --- assignments -----------------------------------------------------------------------------
    def _store_target(self, target, node):
        if isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                self._store_target(elt, node)
        elif isinstance(target, ast.Starred):
            self._store_target(target.value, node)
        elif isinstance(target, ast.Attribute):
            root = _root_name(target)
            name = _dotted(target) or target.attr
            if root in self.imported or root in ("__builtins__", "builtins"):
                self.flag(node, "module-attribute",
                          f"changes {name}, an attribute of the imported {root}")
            elif target.attr.startswith("__") and target.attr.endswith("__"):
                self.flag(node, "dunder-attribute", f"assigns {target.attr} of an object")
        elif isinstance(target, ast.Subscript):
            base = target.value
            if (isinstance(base, ast.Call) and isinstance(base.func, ast.Name)
                    and base.func.id in ("globals", "vars", "locals")):
                self.flag(node, "rebinds-helper", f"edits {base.func.id}() directly")
            root = _root_name(target)
            dotted = _dotted(base)
            if dotted in ("sys.modules",) or root == "__builtins__":
                pass  # reported by visit_Attribute / visit_Name
            elif (root in self.imported and dotted and dotted != root
                  and not dotted.startswith("os.environ")):
                self.flag(node, "module-attribute",
                          f"changes an item of {dotted}, which belongs to the imported {root}")
        elif isinstance(target, ast.Name):
            if target.id in self.course_names:
                self.flag(node, "rebinds-helper",
                          f"rebinds {target.id}, which the notebook imports from course_utils")

    def visit_Assign(self, node):
        for target in node.targets:
            self._store_target(target, node)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._store_target(node.target, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._store_target(node.target, node)
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            self._store_target(target, node)
        self.generic_visit(node)

    def visit_For(self, node):
        self._store_target(node.target, node)
        self.generic_visit(node)

    def visit_With(self, node):
        for item in node.items:
            if item.optional_vars is not None:
                self._store_target(item.optional_vars, node)
        self.generic_visit(node)

    def visit_NamedExpr(self, node):
        self._store_target(node.target, node)
        self.generic_visit(node)

    def visit_Global(self, node):
        for name in node.names:
            if name in self.course_names:
                self.flag(node, "rebinds-helper",
                          f"declares {name} global, which the notebook imports from course_utils")
        self.generic_visit(node)

    # --- definitions -----------------------------------------------------------------------------
    def _check_function(self, node, in_class: bool):
        if node.name in self.course_names:
            self.flag(node, "rebinds-helper",
                      f"defines {node.name}, which the notebook imports from course_utils")
        args = node.args
        params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        params += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
        if in_class and params and params[0] in ("self", "cls"):
            params = params[1:]
        body = [s for s in node.body
                if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        trivial = not body or all(isinstance(s, ast.Pass | ast.Raise) or
                                  (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
                                  for s in body)
        if params and not trivial and not node.decorator_list:
            used = {n.id for s in body for n in ast.walk(s) if isinstance(n, ast.Name)}
            if not used & set(params):
                self.flag(node, "ignores-arguments",
                          f"{node.name}({', '.join(params)}) uses none of its arguments: "
                          "a hard-coded answer?")

    def visit_FunctionDef(self, node):
        self._check_function(node, getattr(node, "_in_class", False))
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        if node.name in self.course_names:
            self.flag(node, "rebinds-helper",
                      f"defines {node.name}, which the notebook imports from course_utils")
        for base in node.bases:
            name = _dotted(base).split(".")[-1] if _dotted(base) else ""
            if name in _VALUE_BASES:
                self.flag(node, "suspicious-class",
                          f"class {node.name} derives from {_dotted(base)}: a value that "
                          "can lie to the tests")
        for item in node.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                item._in_class = True
                if item.name in _DUNDER_HOOKS:
                    self.flag(item, "suspicious-class",
                              f"class {node.name} defines {item.name}: it changes how "
                              "its objects compare or convert")
            elif isinstance(item, ast.Assign):
                for t in item.targets:
                    if isinstance(t, ast.Name) and t.id in _DUNDER_HOOKS:
                        self.flag(item, "suspicious-class", f"class {node.name} sets {t.id}")
        self.generic_visit(node)

    # --- names, attributes, calls ----------------------------------------------------------------
    def visit_Name(self, node):
        if node.id == "__builtins__":
            self.flag(node, "builtins", "uses __builtins__")
        elif node.id in _DYNAMIC_NAMES:
            self.flag(node, "dynamic-code", f"uses {node.id}: running code built at run time")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        dotted = _dotted(node)
        root = _root_name(node)
        if dotted == "sys.modules" or (root == "sys" and node.attr == "modules"):
            self.flag(node, "sys-modules", "uses sys.modules")
        elif node.attr in _FRAME_ATTRS:
            self.flag(node, "frame-access",
                      f"reads .{node.attr}: another frame's or function's variables")
        elif root == "os" and node.attr in _OS_PROCESS:
            self.flag(node, "process", f"uses os.{node.attr}")
        elif root == "os" and node.attr in _OS_SHELL:
            self.flag(node, "shell", f"uses os.{node.attr}")
        elif root == "os" and node.attr in ("chdir", "fchdir"):
            self.flag(node, "file-access", f"uses os.{node.attr}")
        elif (dotted.endswith(("types.FunctionType", "types.CodeType", "types.LambdaType"))
              or node.attr == "__code__"):
            self.flag(node, "dynamic-code",
                      f"uses {dotted or node.attr}: building functions from code objects")
        elif dotted.startswith("torch.hub") or node.attr in ("urlretrieve", "urlopen"):
            self.flag(node, "network", f"uses {dotted or node.attr}")
        elif root == "builtins" and "builtins" in self.imported:
            self.flag(node, "builtins", f"uses {dotted}")
        elif len(dotted.split(".")) == 2 and tuple(dotted.split(".")) in _FRAME_CALLS:
            self.flag(node, "frame-access", f"uses {dotted}")
        elif isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name) \
                and node.value.func.id == "get_ipython" and node.attr in _SHELL_MAGICS:
            self.flag(node, "shell", f"runs IPython's {node.attr} (a shell command or magic)")
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        name = (func.id if isinstance(func, ast.Name)
                else func.attr if isinstance(func, ast.Attribute) else "")
        if name in ("setattr", "delattr") and isinstance(func, ast.Name) and node.args:
            root = _root_name(node.args[0])
            attr = node.args[1] if len(node.args) > 1 else None
            attr_name = (attr.value
                         if isinstance(attr, ast.Constant) and isinstance(attr.value, str)
                         else None)
            if root in self.imported or root in ("__builtins__", "builtins"):
                self.flag(node, "module-attribute", f"{name} on the imported {root}")
            elif attr_name and attr_name.startswith("__") and attr_name.endswith("__"):
                self.flag(node, "dunder-attribute", f"{name} of {attr_name}")
            elif attr_name is None and attr is not None:
                self.flag(node, "module-attribute",
                          f"{name} with an attribute name computed at run time")
        if name in _FILE_CALLS or (isinstance(func, ast.Attribute)
                                   and _root_name(func) in ("os", "shutil", "glob", "io")):
            paths = [s for arg in list(node.args) + [k.value for k in node.keywords]
                     for s in _strings(arg)]
            bad = [s for s in paths if _suspicious_path(s)]
            if bad:
                self.flag(node, "file-access", f"{name or _dotted(func)}({bad[0]!r}): "
                          "a path outside the submission's folder")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and "gradebook" in node.value.lower():
            self.flag(node, "file-access", f"mentions {node.value!r}")
        self.generic_visit(node)

    def visit_JoinedStr(self, node):
        self.generic_visit(node)


def _imports(tree) -> tuple[dict[str, str], set[str]]:
    imported, course = {}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                imported[local] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            for alias in node.names:
                local = alias.asname or alias.name
                imported[local] = f"{node.module}.{alias.name}"
                if (node.module or "").split(".")[0] == "course_utils":
                    course.add(local)
    return imported, course


def _parse(source: str):
    try:
        return ast.parse(_to_python(source)), None
    except SyntaxError as err:
        return None, err


def audit_source(source: str, imported: dict[str, str] | None = None,
                 course_names: set[str] | None = None) -> list[tuple[int, str, str]]:
    """Findings ``(line, rule, message)`` for one cell's source (IPython syntax allowed).

    ``imported`` and ``course_names`` are the names that other cells of the notebook import (all
    imported names, and those imported from ``course_utils``); the cell's own imports are added.
    """
    tree, err = _parse(source)
    if tree is None:
        return [(err.lineno or 1, "unparsable",
                 f"not valid Python ({err.msg}): it cannot be audited")]
    own_imported, own_course = _imports(tree)
    visitor = _Visitor({**(imported or {}), **own_imported}, set(course_names or ()) | own_course)
    visitor.visit(tree)
    seen, out = set(), []
    for item in sorted(visitor.found):
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _overwritten_by_nbgrader(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return not meta.get("solution") and (meta.get("grade") or meta.get("locked"))


def _cell_key(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta.get("grade_id") or cell.get("id")


def audit_notebook(path: str | Path, release: str | Path | None = None) -> list[Finding]:
    """Audit one notebook; ``release`` is the released notebook it was made from (optional).

    Raises:
        FileNotFoundError: when ``path`` (or ``release``) does not exist.
        nbformat.reader.NotJSONError: when ``path`` is not a notebook (reported by the command).
    """
    # here, not at the top: it takes ~2 s to import, and every `pix2pix` command builds this
    # parser
    import nbformat

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    released = {}
    if release is not None:
        for cell in nbformat.read(Path(release), as_version=4).cells:
            released[_cell_key(cell)] = cell.source
    imported, course = {}, set()
    for cell in nb.cells:  # names imported anywhere, including the instructor's cells
        if cell.cell_type == "code":
            tree, _ = _parse(cell.source)
            if tree is not None:
                more, more_course = _imports(tree)
                imported.update(more)
                course |= more_course
    findings = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or _overwritten_by_nbgrader(cell):
            continue
        if released and released.get(_cell_key(cell)) == cell.source:
            continue
        lines = cell.source.splitlines()
        for line, rule, message in audit_source(cell.source, imported, course):
            code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            findings.append(Finding(str(path), index, str(_cell_key(cell)), line, rule, message,
                                    code))
    return findings


def format_report(findings_by_notebook: dict[str, list[Finding]]) -> str:
    """A plain-text report: one block per notebook, every finding with cell and line."""
    lines = []
    flagged = {k: v for k, v in findings_by_notebook.items() if v}
    lines.append(f"{len(findings_by_notebook)} notebook(s) audited, {len(flagged)} flagged for "
                 "manual review")
    for notebook, findings in sorted(flagged.items()):
        lines.append("")
        lines.append(f"FLAGGED {notebook} ({len(findings)} finding(s))")
        for f in findings:
            lines.append(f"  cell {f.cell} ({f.cell_id}), line {f.line}: [{f.rule}] {f.message}")
            lines.append(f"      {f.code}")
    return "\n".join(lines)


def findings_json(findings_by_notebook: dict[str, list[Finding]]) -> str:
    return json.dumps({k: [asdict(f) for f in v] for k, v in findings_by_notebook.items()},
                      indent=2)


def mark_for_review(gradebook_url: str, assignment: str, student: str, notebook: str,
                    findings: list[Finding]) -> bool:
    """Mark a submitted notebook for manual review in nbgrader's gradebook; False if it is not
    there.

    Every grade of the notebook gets ``needs_manual_grade = True`` (formgrader lists it under
    "needs manual grading"), and the audit's findings are written into the manual comment of the
    notebook's first commentable cell. Run it after ``nbgrader autograde``, which resets the
    flags.
    """
    from nbgrader.api import Gradebook, MissingEntry

    text = "Flagged by the course's audit, please review:\n" + "\n".join(
        f"- cell {f.cell} ({f.cell_id}), line {f.line}: [{f.rule}] {f.message}: `{f.code}`"
        for f in findings)
    with Gradebook(gradebook_url) as gb:
        try:
            sub = gb.find_submission_notebook(notebook, assignment, student)
        except MissingEntry:
            return False
        for grade in sub.grades:
            grade.needs_manual_grade = True
        if sub.comments:
            comment = sub.comments[0]
            old = comment.manual_comment or ""
            if _STUDENT_TAG not in old:
                comment.manual_comment = (old + "\n\n" if old else "") + f"[{_STUDENT_TAG}] " + text
        gb.db.commit()
    return True


def _cmd_audit(args) -> int:
    from course_utils.errors import CourseError

    root = Path(args.course_root)
    paths: list[tuple[Path, Path | None, str | None]] = []  # (notebook, release, student)
    if args.assignment:
        release_dir = root / "notebooks" / args.assignment
        for nb in sorted((root / "submitted").glob(f"*/{args.assignment}/*.ipynb")):
            rel = release_dir / nb.name
            paths.append((nb, rel if rel.is_file() else None, nb.parent.parent.name))
        if not paths:
            raise CourseError(f"no notebooks under {root / 'submitted'}/*/{args.assignment}/: "
                              "nothing to audit")
    for item in args.notebooks:
        p = Path(item)
        if not p.is_file():
            raise CourseError(f"{p}: no such notebook")
        rel = Path(args.release) if args.release else None
        if rel is not None and rel.is_dir():
            rel = rel / p.name
        paths.append((p, rel, None))
    if not paths:
        raise CourseError("give notebooks to audit, or --assignment NAME to audit "
                          "submitted/*/NAME/")
    results: dict[str, list[Finding]] = {}
    for nb, rel, student in paths:
        try:
            results[str(nb)] = audit_notebook(nb, rel)
        except Exception as err:  # noqa: BLE001 - an unreadable notebook is itself a reason to look
            results[str(nb)] = [Finding(str(nb), -1, "-", 0, "unparsable",
                                        f"cannot read the notebook: {err}", "")]
        if args.mark and student and results[str(nb)]:
            marked = mark_for_review(f"sqlite:///{root / 'gradebook.db'}", args.assignment, student,
                                     nb.stem, results[str(nb)])
            if not marked:
                print(f"note: {student}'s {nb.stem} is not in the gradebook yet (autograde first): "
                      "not marked")
    print(format_report(results))
    copies = _copies(args, paths) if args.copies else []
    if args.json:
        payload = json.loads(findings_json(results))
        if args.copies:
            from course_utils.grading.similarity import copies_json

            payload = {"findings": payload, "copies": copies_json(copies)}
        Path(args.json).write_text(json.dumps(payload, indent=1))
    return 1 if any(results.values()) or copies else 0


def _copies(args, paths) -> list:
    """``--copies``: answers near-identical to the reference or to another student's, printed."""
    from course_utils.grading.similarity import REFERENCES, find_copies

    submissions: dict[str, Path] = {}
    for nb, _, student in paths:
        key = student or str(nb)
        if key in submissions:  # two notebooks of one student: keep them apart
            key = str(nb)
        submissions[key] = nb
    release = next((rel for _, rel, _ in paths if rel is not None), None)
    found = find_copies(submissions, release,
                        notebook=args.assignment if args.assignment in REFERENCES else None)
    print(f"\ncopies: {len(found)} answer(s) near-identical to the reference or to another "
          f"student's, over {len(submissions)} notebook(s)")
    for c in found:
        print(f"  {c}")
    return found


def add_parser(sub) -> None:
    """Register ``pix2pix audit`` on the CLI's subparsers."""
    a = sub.add_parser("audit",
                       help="statically audit submitted notebooks for code that could cheat the "
                            "grader")
    a.add_argument("notebooks", nargs="*", help="notebooks to audit")
    a.add_argument("--release", default=None,
                   help="the release notebook (or its folder) the notebooks came from: "
                   "cells left as released are skipped")
    a.add_argument("--assignment", default=None,
                   help="audit every submitted/*/ASSIGNMENT/*.ipynb of the course")
    a.add_argument("--course-root", default=".", help="the nbgrader course folder (default: .)")
    a.add_argument("--mark", action="store_true",
                   help="mark flagged submissions for manual review in gradebook.db")
    a.add_argument("--copies", action="store_true",
                   help="also report graded answers near-identical to the course_utils reference "
                        "or to another student's (copydetect's winnowing fingerprints)")
    a.add_argument("--json", default=None, help="also write the findings as JSON to this file")
    a.set_defaults(func=_cmd_audit)
