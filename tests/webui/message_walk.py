"""Every message the API can send a page, found by reading the source.

The web UI shows the API's messages in the owner's language by matching them against the
templates of ``webui/locale/fr.po`` (``msgctxt "api"``). A hand-kept list of "the usual
messages" goes stale, so this module walks the code instead:

* the modules: everything ``selfdata.api.app`` imports, transitively, wherever the import
  is (a handler imports a parser on first use), and every built-in connector module
  (``connectors/**``, which the runner loads in child processes: no import of the API's
  reaches them) with what it imports; the CLI's modules are not in it;
* the messages: what builds an error (every subclass of ``SelfdataError`` and of the
  connectors' ``ConnectorError`` — ``AuthFailed``, ``UserActionNeeded``, ``RateLimited``,
  ``ServiceDown``… —, its default message and what its ``__init__`` hands up;
  ``web.HTTP…(text=…)``), what an import report carries (``RowError``, ``Problem``,
  ``Note``, ``report.problem()``, ``report.notes``), the ledger check's ``verdict.fail()``,
  a run's or a source's ``message``, what an answer found for the owner (``facts=[…]``),
  and the lines of a run's log (``ctx.log.info(…)`` and its kin in a connector,
  ``run.log.add(level, …)`` in the runner), a ``%s``/``%d`` of their format a hole like
  an f-string's field; an exception a log line shows (``except NotApplicable as err:
  ctx.log.info("%s", err)``) has its messages walked where it is raised;
* each message as a *skeleton*: its literal text with every f-string field a hole, so
  ``f"{self.label}: cannot connect ({_reason(err)})"`` is the fr.po template
  ``"{target}: cannot connect ({reason})"``. Concatenations, ``a if c else b``,
  ``a or b``, slices, ``", ".join(…)`` (a hole), a call of the module's own function (what
  it returns) and a name bound to a literal (or to a parameter: followed to every call
  that passes one) are read through; ``err.message`` and ``str(err)`` of selfdata's own
  errors quote a message walked where it is made; anything else is *dynamic*, and
  :data:`QUOTED` must say where its words come from;
* *fragments*: a literal a caller passes for a field (``check_text(v, "the purpose", 300)``
  fills ``f"{what} is empty"``), translated too, so the whole sentence is French.

Two fields side by side (``f"{amount}{unit}"``) are one hole: a template has one
placeholder there. What a run's log holds but nobody wrote here (a connector's
``print()``, a traceback, woob's own log lines) is in :data:`QUOTED` too, with why.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = {"selfdata": "daemon", "selfdata.connectors": "connectors", "selfdata.webui": "webui"}
START = "selfdata.api.app"
#: The classes whose subclasses make the messages of errors (the position of ``message``).
ERRORS = {"SelfdataError": 0, "ConnectorError": 0}
#: A logger's methods: on ``….log`` (a run's ``ctx.log``) their lines are the run's log.
LOG_METHODS = frozenset({"debug", "info", "warning", "error", "exception", "critical"})
#: A ``%`` conversion of a log line's format (``%s``, ``%d``, ``%.1f``, ``%%``).
CONVERSION = re.compile(r"%(?:\(\w+\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")
#: A hole in a skeleton: where an f-string's field (or a template's placeholder) goes.
HOLE = "\x00"
PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)\}")

#: Messages made of something the walk cannot read, and where their words come from. A
#: new one fails test_api_messages.py: give a literal message, or say here what it quotes.
QUOTED = {
    ("selfdata.api.handlers.backup", "str(err)"): (
        "Retention.from_json's ValueError: test_api_messages.py makes it and translates it"
    ),
    ("selfdata.connectors.runtime.process", "line.decode('utf-8', 'replace')"): (
        "a run's log: what the child printed (print(), a library's warning): its own words"
    ),
    ("selfdata.connectors.runtime.process", "pending.decode('utf-8', 'replace')"): (
        "a run's log: the child's last printed line, as above"
    ),
    ("selfdata.connectors.runtime.process", "str(message.get('message', ''))"): (
        "a run's log: the child's log lines, walked at each ctx.log call; woob's own log "
        "lines (the woob bridge routes them there) are woob's words"
    ),
    ("selfdata.connectors.runtime.runner", "str(done['traceback'])"): (
        "a run's log: a crash's traceback, for whoever fixes the connector"
    ),
    ("selfdata.connectors.sinks", "message"): "report.problem()'s: walked at each call",
    ("selfdata.connectors.sinks", "str(err)"): "json's ValueError (NaN): the library's words",
    ("selfdata.errors", "message"): "from_code(): the CLI rebuilding a daemon's error",
    ("selfdata.scheduler.scheduler", "self._states.get(account_id, {}).get('message')"): (
        "a source's last run message: walked where a run's message is set"
    ),
}


@dataclass(frozen=True)
class Found:
    """A message (or a fragment of one) the walk found, and where."""

    skeleton: str
    where: str  # "module:line"
    fragment: bool = False

    @property
    def text(self) -> str:
        """The skeleton with ``{…}`` for its holes, as the failure messages show it."""
        return self.skeleton.replace(HOLE, "{…}")


@dataclass(frozen=True)
class Dynamic:
    module: str
    expression: str
    where: str


def skeleton(template: str) -> str:
    """A fr.po template's skeleton: its placeholders as holes."""
    return _one_hole(PLACEHOLDER.sub(HOLE, template))


def _one_hole(text: str) -> str:
    """Holes side by side as one: ``f"{amount}{unit}"`` is one value to a template."""
    return re.sub(f"{HOLE}+", HOLE, text)


def worded(skeleton_: str) -> bool:
    """A skeleton with words to translate (not ``{…}: {…}``, not an identifier)."""
    literal = skeleton_.replace(HOLE, " ")
    return bool(re.search(r"[A-Za-z]{2,}", literal)) and not re.fullmatch(r"[\w.]+", literal)


# -- the modules -----------------------------------------------------------------------------


def _path(module: str) -> Path | None:
    for package, root in sorted(PACKAGES.items(), key=lambda kv: -len(kv[0])):
        if module == package or module.startswith(package + "."):
            rest = module[len(package) :].lstrip(".")
            base = REPO / root / Path(*rest.split(".")) if rest else REPO / root
            for candidate in (base / "__init__.py", base.with_suffix(".py")):
                if candidate.is_file():
                    return candidate
    return None


def _package(module: str, path: Path | None) -> str:
    return module if path is not None and path.name == "__init__.py" else module.rpartition(".")[0]


def _source(package: str, node: ast.ImportFrom) -> str:
    """The module ``from … import`` reads, made absolute."""
    if not node.level:
        return node.module or ""
    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*parts, *([node.module] if node.module else [])])


def _imports(module: str, path: Path, tree: ast.Module) -> Iterator[str]:
    package = _package(module, path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _source(package, node)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def builtin_connectors() -> list[str]:
    """Every module under ``connectors/``: the runner imports them in its child processes."""
    root = REPO / PACKAGES["selfdata.connectors"]
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        names.append(".".join(("selfdata.connectors", *parts)))
    return names


def reachable(*starts: str) -> dict[str, ast.Module]:
    """Every module of the package ``starts`` import, transitively; never the CLI's."""
    found: dict[str, ast.Module] = {}
    todo = list(starts or (START,))
    while todo:
        module = todo.pop()
        if (
            module in found
            or not module.startswith("selfdata")
            or module.startswith("selfdata.cli")
        ):
            continue
        path = _path(module)
        if path is None:
            continue  # a name imported from a module, not a module
        found[module] = tree = ast.parse(path.read_text(), str(path))
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        todo += _imports(module, path, tree)
    return found


# -- the walk --------------------------------------------------------------------------------


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _assigned(nodes: Iterable[ast.AST], name: str) -> list[ast.expr]:
    """The values ``nodes`` assign to ``name``."""
    found: list[ast.expr] = []
    for node in nodes:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        ) or (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
            and node.value is not None
        ):
            found.append(node.value)
    return found


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


class Walk:
    """The messages of ``modules`` (by default: what the API reaches, and the connectors)."""

    def __init__(self, modules: dict[str, ast.Module] | None = None) -> None:
        self.modules = reachable(START, *builtin_connectors()) if modules is None else modules
        self.parents = {m: _parents(tree) for m, tree in self.modules.items()}
        self.found: list[Found] = []
        self.dynamic: list[Dynamic] = []
        self.functions: dict[str, list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]] = {}
        self.calls: dict[str, list[tuple[str, ast.Call]]] = {}  # by the name called
        for module, tree in self.modules.items():
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    self.functions.setdefault(node.name, []).append((module, node))
                elif isinstance(node, ast.Call) and _name(node.func):
                    self.calls.setdefault(str(_name(node.func)), []).append((module, node))
        self.imported = {module: self._imported(module) for module in self.modules}
        self.errors = self._error_classes()
        self._walk()

    # which classes make an error, and where their message goes

    def _error_classes(self) -> dict[str, int | None]:
        """Class name → the position of its ``message`` argument (``None``: it takes none,
        its ``__init__`` makes it)."""
        classes = {
            node.name: node
            for tree in self.modules.values()
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
        }
        position: dict[str, int | None] = {**ERRORS, **dict.fromkeys(self._logged(), 0)}
        grew = True
        while grew:
            grew = False
            for name, node in classes.items():
                if name in position:
                    continue
                base = next((b for b in map(_name, node.bases) if b in position), None)
                if base is None:
                    continue
                init = next(
                    (
                        f
                        for f in node.body
                        if isinstance(f, ast.FunctionDef) and f.name == "__init__"
                    ),
                    None,
                )
                if init is None:
                    position[name] = position[base]
                else:
                    names = [a.arg for a in init.args.args[1:]]
                    position[name] = names.index("message") if "message" in names else None
                grew = True
        self.error_nodes = {n: classes[n] for n in position if n in classes}
        return position

    def _logged(self) -> set[str]:
        """Exceptions a log line shows (``except NotApplicable as err: ctx.log.info("%s",
        err)``): what makes them is a message too."""
        found: set[str] = set()
        for module, tree in self.modules.items():
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and _log_line(node)):
                    continue
                for arg in node.args[1:]:
                    handler = self._handler(module, arg)
                    if handler is not None and handler.type is not None:
                        caught = (
                            handler.type.elts
                            if isinstance(handler.type, ast.Tuple)
                            else [handler.type]
                        )
                        found |= {n for n in map(_name, caught) if n}
        return found

    def _handler(self, module: str, node: ast.expr) -> ast.ExceptHandler | None:
        """The ``except … as name`` that binds ``node``, when it is such a name."""
        if not isinstance(node, ast.Name):
            return None
        parents, at = self.parents[module], node
        while at in parents:
            at = parents[at]
            if isinstance(at, ast.ExceptHandler) and at.name == node.id:
                return at
        return None

    def _walk(self) -> None:
        for module, tree in self.modules.items():
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    self._call(module, node)
                elif isinstance(node, ast.Dict):
                    for key, value in zip(node.keys, node.values, strict=True):
                        if isinstance(key, ast.Constant) and key.value == "message":
                            self._message(module, value, optional=True)
                elif isinstance(node, ast.Assign):
                    self._assign(module, node)
        for name, node in self.error_nodes.items():
            module = next(m for m, t in self.modules.items() if node in self.parents[m])
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    self._init(module, name, item)

    def _init(self, module: str, name: str, init: ast.FunctionDef) -> None:
        names = [a.arg for a in init.args.args]
        defaults = dict(
            zip(names[len(names) - len(init.args.defaults) :], init.args.defaults, strict=True)
        )
        if "message" in defaults:
            self._message(module, defaults["message"])
        for node in ast.walk(init):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "__init__"
                and node.args
                and self.errors.get(name) is None
            ):
                self._message(module, node.args[0])

    def _call(self, module: str, call: ast.Call) -> None:
        name = _name(call.func)
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        if name in self.errors:
            at = self.errors[name]
            if at is not None and len(call.args) > at:
                self._message(module, call.args[at])
            elif "message" in keywords:
                self._message(module, keywords["message"])
        elif name and name.startswith("HTTP") and "text" in keywords:
            self._message(module, keywords["text"])
        elif name == "RowError" and len(call.args) > 1:
            self._message(module, call.args[1])
        elif name in ("Problem", "problem") and len(call.args) > 1:
            self._message(module, call.args[0], optional=True)  # where: "line 3", …
            self._message(module, call.args[1])
        elif name == "Note" and call.args:
            self._message(module, call.args[0])
        elif name == "fail" and len(call.args) > 1:
            self._message(module, call.args[1])
        elif (
            name == "append"
            and isinstance(call.func, ast.Attribute)
            and _name(call.func.value) == "notes"
            and call.args
        ):
            self._message(module, call.args[0])
        elif name == "update" and "message" in keywords:
            self._message(module, keywords["message"], optional=True)
        elif "facts" in keywords and isinstance(keywords["facts"], ast.List):
            for fact in keywords["facts"].elts:  # what an answer found, for the owner
                self._message(module, fact)
        elif _log_line(call):
            self._log(module, call)
        elif (
            name == "add"
            and isinstance(call.func, ast.Attribute)
            and _name(call.func.value) in ("log", "log_to")
            and len(call.args) > 1
        ):
            self._message(module, call.args[1])  # RunLog.add(level, message)

    def _log(self, module: str, call: ast.Call) -> None:
        """A line of a run's log: ``ctx.log.info("%s: %d left out", name, n)``."""
        where = f"{module}:{call.lineno}"
        for text in self.skeletons(module, call.args[0], where):
            options: list[str] = [""]
            args = iter(call.args[1:])
            last = 0
            for spec in CONVERSION.finditer(text) if len(call.args) > 1 else ():
                literal = text[last : spec.start()]
                last = spec.end()
                if spec[0] == "%%":
                    options = [o + literal + "%" for o in options]
                    continue
                values = self._log_value(module, next(args, None), where)
                options = [o + literal + v for o in options for v in values]
            for line in (_one_hole(option + text[last:]) for option in options):
                if worded(line):
                    self.found.append(Found(line, where))

    def _log_value(self, module: str, arg: ast.expr | None, where: str) -> list[str]:
        """What a ``%s`` of a log line may be: a literal, a list that may be empty
        (``"".join(f"; {n}" for n in notes)``: nothing, or one hole after its words), or a
        hole (an exception's messages are walked where it is raised)."""
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return [arg.value]
        if (
            isinstance(arg, ast.Call)
            and isinstance(arg.func, ast.Attribute)
            and arg.func.attr == "join"
            and isinstance(arg.func.value, ast.Constant)
            and arg.func.value.value == ""
            and arg.args
            and isinstance(arg.args[0], ast.GeneratorExp | ast.ListComp)
        ):
            return ["", *self.skeletons(module, arg.args[0].elt, where)]
        return [HOLE]

    def _assign(self, module: str, node: ast.Assign) -> None:
        for target in node.targets:
            pairs: Iterable[tuple[ast.expr, ast.expr]] = [(target, node.value)]
            if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                pairs = zip(target.elts, node.value.elts, strict=False)
            for left, right in pairs:
                if (isinstance(left, ast.Attribute) and left.attr == "message") or (
                    isinstance(left, ast.Subscript)
                    and isinstance(left.slice, ast.Constant)
                    and left.slice.value == "message"
                ):
                    self._message(module, right, optional=True)

    # a message's skeletons

    def _message(self, module: str, node: ast.expr, *, optional: bool = False) -> None:
        where = f"{module}:{node.lineno}"
        for text in self.skeletons(module, node, where, optional=optional):
            if worded(text):
                self.found.append(Found(_one_hole(text), where))

    def skeletons(
        self, module: str, node: ast.expr, where: str, *, optional: bool = False, depth: int = 0
    ) -> list[str]:
        """The skeletons ``node`` can be; a dynamic part is noted (``optional``: a value
        that is only sometimes a message, such as a dict's ``message``, is not)."""

        def again(child: ast.expr) -> list[str]:
            return self.skeletons(module, child, where, optional=optional, depth=depth + 1)

        if isinstance(node, ast.Constant):
            return [node.value] if isinstance(node.value, str) else []
        if isinstance(node, ast.JoinedStr):
            texts = [""]
            for part in node.values:
                if isinstance(part, ast.Constant):
                    texts = [t + str(part.value) for t in texts]
                    continue
                assert isinstance(part, ast.FormattedValue)
                worded_ = self._worded_field(module, part, depth)
                if worded_ is not None:
                    texts = [t + w for t in texts for w in worded_]
                    continue
                texts = [t + HOLE for t in texts]
                self._fragments(module, part.value, where)
            return texts
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            return again(node.value)  # a message cut to a length
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return [a + b for a in again(node.left) for b in again(node.right)]
        if isinstance(node, ast.IfExp):
            return again(node.body) + again(node.orelse)
        if isinstance(node, ast.BoolOp):
            return [text for value in node.values for text in again(value)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "strip":
                return again(node.func.value)
            if node.func.attr == "join":
                return [HOLE]  # a list of values: data, not words
        if self._quotes_an_error(module, node):
            return []  # that error's message is walked where it is made
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and depth < 4:
            returned = self._returned(module, node.func.id)
            if returned is not None:
                return [text for value in returned for text in again(value)]
        if isinstance(node, ast.Name) and depth < 4:
            bound = self._bound(module, node)
            if bound is not None:
                return [text for value in bound for text in again(value)]
        if not optional:
            self.dynamic.append(Dynamic(module, ast.unparse(node), where))
        return []

    def _worded_field(self, module: str, part: ast.FormattedValue, depth: int) -> list[str] | None:
        """A field that holds words of the module's own: a name its function binds only to
        what a function of the module returns (``text = _text(err)`` then
        ``f"refused{text}"``, ``_text`` returning ``f": {message}"`` or ``""``)."""
        if not isinstance(part.value, ast.Name) or part.format_spec or part.conversion != -1:
            return None
        function = self._function(module, part.value)
        if function is None or depth >= 4:
            return None
        assigned = _assigned(ast.walk(function), part.value.id)
        if not assigned or not all(
            isinstance(a, ast.Call)
            and isinstance(a.func, ast.Name)
            and all(map(_text, self._returned(module, a.func.id) or [None]))
            for a in assigned
        ):
            return None
        where = f"{module}:{part.lineno}"
        return [t for a in assigned for t in self.skeletons(module, a, where, depth=depth + 1)]

    def _quotes_an_error(self, module: str, node: ast.expr) -> bool:
        """``err.message``, or ``str(err)`` of an ``except`` that catches only selfdata's
        errors: a message quoting one of the errors this walk finds."""
        if isinstance(node, ast.Attribute) and node.attr == "message":
            return True
        if not (
            isinstance(node, ast.Call)
            and _name(node.func) == "str"
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Name)
        ):
            return False
        name, parents, at = node.args[0].id, self.parents[module], node
        while at in parents:
            at = parents[at]
            if isinstance(at, ast.ExceptHandler) and at.name == name and at.type is not None:
                caught = at.type.elts if isinstance(at.type, ast.Tuple) else [at.type]
                return all(_name(c) in self.errors for c in caught)
        return False

    def _returned(self, module: str, name: str) -> list[ast.expr] | None:
        """What a function of ``module`` returns, when it is defined there."""
        for node in self.modules[module].body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                returns = [
                    r.value
                    for r in ast.walk(node)
                    if isinstance(r, ast.Return)
                    and r.value is not None
                    and not (isinstance(r.value, ast.Constant) and r.value.value is None)
                ]
                return returns or None
        return None

    def _function(
        self, module: str, node: ast.AST
    ) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        parents = self.parents[module]
        while node in parents:
            node = parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node
        return None

    def _bound(self, module: str, name: ast.Name) -> list[ast.expr] | None:
        """What the name may hold: the values assigned to it in its function, or the
        arguments every call passes for it (``None``: neither can be told)."""
        function = self._function(module, name)
        if function is not None:
            assigned = _assigned(ast.walk(function), name.id)
            if assigned:
                return assigned
            passed = self.arguments(function, name.id)
            if passed:
                return passed
        return _assigned(self.modules[module].body, name.id) or None  # a module's constant

    def arguments(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, parameter: str
    ) -> list[ast.expr]:
        """What the calls of ``function`` pass for ``parameter``: a method's calls through
        ``self``/``cls`` in its module, a function's by name where it is defined or
        imported from its module (not another function of the same name)."""
        params = [a.arg for a in function.args.args]
        if parameter not in params:
            return []
        index = params.index(parameter)
        method = params[:1] in (["self"], ["cls"])
        home = next(m for m, parents in self.parents.items() if function in parents)
        found: list[ast.expr] = []
        for module, call in self.calls.get(function.name, []):
            source = None if method or module == home else self.imported[module].get(function.name)
            if module != home and (source is None or not (home + ".").startswith(source + ".")):
                continue  # another function of that name, or one imported from elsewhere
            via = call.func.value if isinstance(call.func, ast.Attribute) else None
            if method != (isinstance(via, ast.Name) and via.id in ("self", "cls")):
                continue
            keywords = {k.arg: k.value for k in call.keywords}
            at = index - 1 if method else index
            if parameter in keywords:
                found.append(keywords[parameter])
            elif 0 <= at < len(call.args):
                found.append(call.args[at])
        return found

    def _imported(self, module: str) -> dict[str, str]:
        """The names ``module`` imports from a module, each with where it comes from."""
        package = _package(module, _path(module))
        return {
            alias.asname or alias.name: _source(package, node)
            for node in ast.walk(self.modules[module])
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }

    def _fragments(self, module: str, value: ast.expr, where: str) -> None:
        """A field filled with a parameter: the plain words its callers pass for it; or
        with words of its own (``{state or 'no state'}``)."""
        if isinstance(value, ast.BoolOp | ast.IfExp):
            for node in ast.walk(value):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and " " in node.value
                    and worded(node.value)
                ):
                    self.found.append(Found(node.value, where, fragment=True))
            return
        if not isinstance(value, ast.Name):
            return
        function = self._function(module, value)
        if function is None:
            return
        for argument in self.arguments(function, value.id):
            if (
                isinstance(argument, ast.Constant)
                and isinstance(argument.value, str)
                and " " in argument.value
                and worded(argument.value)
                and not _named(argument.value)
            ):
                self.found.append(Found(argument.value, where, fragment=True))


def _text(node: ast.expr | None) -> bool:
    """An expression that is a string: a literal, an f-string, or a choice of them."""
    if isinstance(node, ast.IfExp):
        return _text(node.body) and _text(node.orelse)
    if isinstance(node, ast.BoolOp):
        return all(map(_text, node.values))
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def _named(text: str) -> bool:
    """A name, not words: ``"Enedis Data Connect"``, ``"GRDF ADICT"`` (each word a capital)."""
    words = [word.strip("()[],.:;") for word in text.split()]
    return all(word[:1].isupper() or not word[:1].isalpha() for word in words)


def _log_line(call: ast.Call) -> bool:
    """A logger's call on ``….log`` (``ctx.log``: the run's log, shown on its page) with
    its format; a module's own ``log`` writes to the box's journal, not to a page."""
    return (
        isinstance(call.func, ast.Attribute)
        and call.func.attr in LOG_METHODS
        and isinstance(call.func.value, ast.Attribute)
        and call.func.value.attr == "log"
        and bool(call.args)
    )


def messages() -> Walk:
    return Walk()
