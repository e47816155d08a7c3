"""Load a user's own ``nn.Module`` from a Python file or an importable module, for inspection.

This runs the user's code, so it is an explicit action of its own (``--model FILE.py:NAME``),
never a side effect of opening a project. The module is built under ``torch.device("meta")``
so a large model costs no memory; code that needs real values while it builds (``.item()``,
``.numpy()``) is retried once on the CPU, and the CPU module is returned. Callers tell the two
apart by the parameters' device.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import itertools
import json
import os
import re
import sys
import sysconfig
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from app.errors import ModelLoadError

TARGET_FORMS = "expected FILE.py:NAME or package.module:NAME"
KWARGS_OPTION = "--model-kwargs"
_counter = itertools.count(1)


def parse_model_kwargs(text: str | None) -> dict[str, Any]:
    """The keyword arguments of ``--model-kwargs '{"hidden": 64}'``; empty text means none."""
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelLoadError(
            f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            ' (expected an object like {"hidden": 64})',
            KWARGS_OPTION,
        ) from None
    if not isinstance(value, dict):
        raise ModelLoadError(f'must be a JSON object like {{"hidden": 64}}, got {_json_kind(value)}', KWARGS_OPTION)
    return value


def load_user_model(target: str, kwargs: dict | None = None, device: str = "meta") -> nn.Module:
    """Import ``target`` (``path/to/file.py:Name`` or ``package.module:Name``) and build it.

    ``Name`` is an ``nn.Module`` class or a function returning a module; ``kwargs`` go to it.
    Every error is a ModelLoadError whose ``where`` is the target.
    """
    kwargs = {} if kwargs is None else kwargs
    if not isinstance(kwargs, dict) or not all(isinstance(key, str) for key in kwargs):
        raise ModelLoadError(f"the model's keyword arguments must be a JSON object, got {_json_kind(kwargs)}", target)
    source, name = split_target(target)
    folder = None
    if is_file_target(source):
        path = _existing_file(source, target)
        folder = path.parent
        module = _import_file(path, target)
        shown = path.name
    else:
        module = _import_module(source, target)
        shown = source
    factory = _lookup(module, name, shown, target)
    with _on_sys_path(folder):  # a constructor may import its siblings lazily
        return _construct(factory, name, kwargs, device, target)


USER_MODULE_PREFIX = "nnstudio_user_"  # how a module imported from a file is named in sys.modules


def shown_module_name(name: str) -> str:
    """A class's ``__module__`` as a user knows it: ``custom_module``, not ``nnstudio_user_3_custom_module``."""
    return re.sub(rf"^{USER_MODULE_PREFIX}\d+_", "", name)


def split_target(target: str) -> tuple[str, str]:
    if not isinstance(target, str) or ":" not in target:
        raise ModelLoadError(f"missing ':NAME' ({TARGET_FORMS})", str(target))
    source, _, name = target.rpartition(":")  # rpartition: a Windows path has a ':' of its own
    if not source or not name:
        raise ModelLoadError(f"{'the file or module' if not source else 'the name'} is empty ({TARGET_FORMS})", target)
    if not all(part.isidentifier() for part in name.split(".")):
        raise ModelLoadError(f"{name!r} is not a Python name ({TARGET_FORMS})", target)
    return source, name


def is_file_target(source: str) -> bool:
    return source.endswith(".py") or "/" in source or os.sep in source


def _existing_file(source: str, target: str) -> Path:
    path = Path(source).expanduser()
    if not path.exists():
        raise ModelLoadError(f"no such file: {source}", target)
    if not path.is_file():
        raise ModelLoadError(f"not a file: {source} ({TARGET_FORMS})", target)
    if path.suffix != ".py":
        raise ModelLoadError(f"not a Python file: {source} ({TARGET_FORMS})", target)
    return path.resolve()


@contextlib.contextmanager
def _on_sys_path(folder: Path | None) -> Iterator[None]:
    if folder is None:
        yield
        return
    entry = str(folder)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(entry)  # the first occurrence: ours, unless the user's code added one too


def _import_file(path: Path, target: str) -> ModuleType:
    stem = re.sub(r"\W", "_", path.stem)
    module_name = f"{USER_MODULE_PREFIX}{next(_counter)}_{stem}"  # unique: reloading an edited file re-runs it
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"cannot import {path.name}", target)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look their module up here
    try:
        with _on_sys_path(path.parent):
            spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:
        sys.modules.pop(module_name, None)
        raise ModelLoadError(f"importing {path.name} failed: {_describe(error)}", target) from error
    return module


def _import_module(source: str, target: str) -> ModuleType:
    if not all(part.isidentifier() for part in source.split(".")):
        raise ModelLoadError(f"{source!r} is neither a .py file nor a module name ({TARGET_FORMS})", target)
    try:
        return importlib.import_module(source)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing and (source == missing or source.startswith(missing + ".")):
            raise ModelLoadError(
                f"no module named {missing!r} (is its folder on sys.path, or did you mean a FILE.py?)", target
            ) from error
        raise ModelLoadError(f"importing {source} failed: {_describe(error)}", target) from error
    except (Exception, SystemExit) as error:
        raise ModelLoadError(f"importing {source} failed: {_describe(error)}", target) from error


def _lookup(module: ModuleType, name: str, shown: str, target: str) -> Any:
    obj: Any = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise ModelLoadError(f"{shown} has no {name!r}; {_module_classes(module, shown)}", target)
        obj = getattr(obj, part)
    return obj


def _module_classes(module: ModuleType, shown: str, limit: int = 20) -> str:
    package = module.__name__
    names = sorted(
        key
        for key, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, nn.Module)
        and _defined_in(getattr(value, "__module__", None) or "", package)
    )
    if not names:
        return f"{shown} defines no nn.Module classes"
    shown_names = ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
    return f"the nn.Module classes it defines: {shown_names}"


def _defined_in(module_name: str, package: str) -> bool:
    """Defined in that module, or (for a package re-exporting them) in one of its submodules."""
    return module_name == package or module_name.startswith(package + ".")


def _construct(factory: Any, name: str, kwargs: dict, device: str, target: str) -> nn.Module:
    if isinstance(factory, nn.Module):
        if kwargs:
            raise ModelLoadError(f"{name} is a module instance already built, so it takes no keyword arguments", target)
        return factory
    if isinstance(factory, type) and not issubclass(factory, nn.Module):
        raise ModelLoadError(f"{name} is the class {factory.__name__}, which is not an nn.Module subclass", target)
    if not callable(factory):
        raise ModelLoadError(
            f"{name} is {_article(type(factory).__name__)}, not an nn.Module class or a function returning one", target
        )
    _check_signature(factory, name, kwargs, target)
    try:
        with torch.device(device):
            result = factory(**kwargs)
    except (Exception, SystemExit) as error:
        if str(device) == "cpu":
            raise ModelLoadError(f"{name}(...) raised {_describe(error)}", target) from error
        try:  # code that needs real values while it builds: once more on the CPU
            with torch.device("cpu"):
                result = factory(**kwargs)
        except (Exception, SystemExit) as cpu_error:
            raise ModelLoadError(f"{name}(...) raised {_describe(cpu_error)}", target) from cpu_error
    if not isinstance(result, nn.Module):
        raise ModelLoadError(f"{name}(...) returned {_article(type(result).__name__)}, not an nn.Module", target)
    return result


def _check_signature(factory: Any, name: str, kwargs: dict, target: str) -> None:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return  # no readable signature: let the call itself say what is wrong
    params = signature.parameters.values()
    accepted = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    takes = ", ".join(accepted) if accepted else "no keyword arguments"
    if not any(p.kind == p.VAR_KEYWORD for p in params):
        unknown = [key for key in kwargs if key not in accepted]
        if unknown:
            raise ModelLoadError(f"{name} has no argument {unknown[0]!r} (it takes: {takes})", target)
    try:
        signature.bind(**kwargs)
    except TypeError as error:
        raise ModelLoadError(f"{name}: {error} (it takes: {takes})", target) from None


def _describe(error: BaseException) -> str:
    """``Type: message (at file, line N)``, the line being the deepest one in the user's code."""
    text = str(error).strip().splitlines()
    message = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
    location = _user_location(error)
    return f"{message} (at {location})" if location else message


def _user_location(error: BaseException) -> str | None:
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        return f"{error.filename}, line {error.lineno}"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if _is_user_file(f.filename)]
    if not frames:
        return None
    frame = frames[-1]
    return f"{frame.filename}, line {frame.lineno}"


def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = [paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    roots += [
        os.path.dirname(torch.__file__),
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    ]  # all of app/
    return tuple(os.path.join(os.path.abspath(r), "") for r in roots if r)


_LIBRARY_ROOTS = _library_roots()


def _is_user_file(filename: str) -> bool:
    if not filename or filename.startswith("<"):
        return False  # <frozen importlib._bootstrap>, <string>
    return not os.path.abspath(filename).startswith(_LIBRARY_ROOTS)


def _article(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {list: "a list", str: "a string", type(None): "null"}.get(type(value), _article(type(value).__name__))
