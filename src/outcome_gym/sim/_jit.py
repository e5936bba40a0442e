"""Compiled per-user loops (numba), built on first use and cached on disk (issue #18).

A mechanism whose natural form is a loop over users (a session: rounds of choice until the user
leaves) is written once as a plain Python function over one row at a time, and :func:`compiled`
turns it into machine code with ``numba.njit(cache=True)``. Nothing random happens inside: every
draw comes from ``sim/rng.py``'s streams as a fixed-shape array over all users, passed in.
``fastmath`` stays off (IEEE arithmetic, the same bits in every process).

A compiled function may call another compiled function, in its own module or another, by its
module-level name (numba compiles the callee into the caller). numba's disk cache checks only the
caller's own source file, so an edited callee in another module would leave the caller's stale
machine code in the cache (numba issue #1833, open; the fix proposed in numba PR #8396 is not
merged). Here every compiled function's cache entry is stamped with the source of *every* module
of its package that defines compiled functions (:func:`package_stamp`): an edit to any of them
recompiles all (tests/sim/test_jit.py checks a callee's edit reaches its caller).

numba is imported only when the first compiled function is called, so ``import outcome_gym`` and
commands that never step a model do not pay for it. The compiled code is cached next to the
source (``__pycache__``); when the package directory is read-only (a system install), the cache
goes to ``$NUMBA_CACHE_DIR`` if set, else to ``$XDG_CACHE_HOME/outcome_gym/numba`` (default
``~/.cache/outcome_gym/numba``). ``NUMBA_DISABLE_JIT=1`` runs the same functions as plain Python
(slow, for debugging and coverage).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def user_cache_dir() -> Path:
    """Where compiled code is cached when the package directory is read-only."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "outcome_gym" / "numba"


def _writable(directory: Path) -> bool:
    """Can a file be created in ``directory`` (or in the directory that would hold it)?"""
    probe = directory if directory.exists() else directory.parent
    try:
        with tempfile.NamedTemporaryFile(dir=probe):
            return True
    except OSError:
        return False


def configure_cache() -> None:
    """Point numba's cache at a user directory when the package's own is not writable.

    Must run before numba is first imported (numba reads ``NUMBA_CACHE_DIR`` at import); a
    ``NUMBA_CACHE_DIR`` the user set is kept.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    pycache = PACKAGE_DIR / "sim" / "mechanisms" / "__pycache__"
    if _writable(pycache):
        return
    target = user_cache_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # numba then warns that it cannot cache and compiles every run
    os.environ["NUMBA_CACHE_DIR"] = str(target)


class compiled(functools.partial):  # noqa: N801 - used as a decorator, like numba.njit
    """A function compiled with ``numba.njit(cache=True)`` on its first call.

    A ``functools.partial`` whose target is, until the first call, a loader that compiles (or
    loads from the cache) and then makes the numba dispatcher the target: every later call goes
    from partial's C-level call straight to the dispatcher, with no Python frame in between (a
    ``__call__`` method cost ~0.12 us a call, as much as numba's own dispatch of a few arrays;
    a step makes ~25 such calls).

    The target is swapped through ``partial.__setstate__`` (how partial objects unpickle: a
    documented CPython behaviour). Use it on module-level functions only: as a class attribute a
    ``partial`` does not bind in Python 3.11 but warns, and will bind, from Python 3.13.

    Args:
        fn: A plain Python function numba can compile (scalars and arrays, no Python objects).
    """

    def __new__(cls, fn: Callable[..., Any], *, inline: bool = False) -> compiled:
        return super().__new__(cls, fn)  # the target is set in __init__

    def __init__(self, fn: Callable[..., Any], *, inline: bool = False) -> None:
        self.py_func = fn
        self.inline = inline
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.__wrapped__ = fn
        self._dispatcher = None

    @property
    def _dispatcher(self) -> Any:
        """The numba dispatcher once compiled, else None (setting it sets the call target:
        tests set ``py_func`` to run the plain Python).
        """
        return self.__dict__["_numba"]

    @_dispatcher.setter
    def _dispatcher(self, target: Any) -> None:
        self.__dict__["_numba"] = target
        # partial's own state: (target, no bound args, no keywords, this instance's attributes)
        self.__setstate__((self._load if target is None else target, (), None, self.__dict__))

    @property
    def dispatcher(self) -> Any:
        """The numba dispatcher (compiling, or loading from the cache, on first access)."""
        if self._dispatcher is None:
            configure_cache()
            self._dispatcher = _njit(self.py_func, self.inline)
        return self._dispatcher

    @classmethod
    def inlined(cls, fn: Callable[..., Any]) -> compiled:
        """A compiled function that compiled callers copy into their own code
        (``numba.njit(inline="always")``) instead of calling it: for a small function called
        per user or per row inside a loop, where a call costs more than its body (numba's calls
        between compiled functions are not inlined by LLVM when the body is a loop: a per-row
        distance was 2.3x slower as a call at N = 1e5). Called from Python, it is an ordinary
        compiled function.
        """
        return cls(fn, inline=True)

    @property
    def _numba_type_(self) -> Any:
        # how numba types this object when a compiled function calls it: as its dispatcher
        return self.dispatcher._numba_type_

    @property
    def targetoptions(self) -> dict[str, Any]:
        """The dispatcher's options (numba's inlining pass reads ``inline`` here)."""
        return self.dispatcher.targetoptions

    def _load(self, *args: Any) -> Any:
        """The first call: compile or load, then call (later calls skip this)."""
        return self.dispatcher(*args)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled by its module-level name (each process compiles or loads its own machine code)
        return (_by_name, (self.py_func.__module__, self.__name__))

    def __repr__(self) -> str:
        return f"<compiled {self.py_func.__module__}.{self.__name__}>"


def written_zeros(shape: int | tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
    """Zeros whose memory pages are written now, for state a compiled pass stores into under a
    condition.

    ``np.zeros`` of a large array gets pages that stay the kernel's shared zero page (read-only)
    until first written. A conditional store in a vectorised pass is an AVX-512 masked store, and
    one whose page is not yet writable costs ~0.3-0.5 us even when no lane is stored, every step
    the page stays unwritten: users without a goal never write their stretch of that goal's
    state (at N = 1e6 a budget goal's crediting took 17 ms a step instead of 3).
    """
    out = np.empty(shape, dtype)
    out.fill(0)
    return out


def pass_array(a: Any, dtype: Any) -> np.ndarray:
    """``a`` as a compiled pass takes it: a writable C-contiguous array of ``dtype`` (no copy when
    it already is one).

    numba compiles one version per argument type, and a read-only array (the world's arrays) is
    a different type: copying those few numbers keeps one compiled signature.
    """
    out = np.ascontiguousarray(a, dtype=dtype)
    return out if out.flags.writeable else out.copy()


MARK = "@compiled"  # how a module that defines compiled functions is recognised


def package_stamp(source_file: str | os.PathLike[str], module: str) -> str:
    """A digest of every module that defines compiled functions in the top-level package of
    ``module`` (whose source is ``source_file``), or of ``source_file`` alone for a top-level
    module (a script).

    Part of each compiled function's cache stamp, so a cached function is reused only while
    every function it might call is unchanged. The package's folder is found from the module's
    dotted name (``a.b.c`` in ``.../a/b/c.py``: two folders up), not by looking for
    ``__init__.py`` files: a folder without one is still part of the package (``sim/`` is a
    namespace folder of ``outcome_gym``, and a walk that stopped there stamped each of its
    modules with its own source only, so an edited callee left its callers' stale machine code
    in the cache). Read once per process per package.
    """
    path = Path(source_file).resolve()
    # the folders between the file and its top-level package's (a package's own __init__.py
    # is one deeper than its dotted name says)
    depth = module.count(".") + (path.name == "__init__.py")
    return _digest(path.parents[depth - 1] if depth else path)


@functools.cache
def _digest(root: Path) -> str:
    files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
    h = hashlib.sha256()
    for f in files:
        text = f.read_bytes()
        if root.is_file() or MARK.encode() in text:
            h.update(str(f.relative_to(root.parent)).encode() + b"\0" + text + b"\0")
    return h.hexdigest()


def _njit(py_func: Callable[..., Any], inline: bool = False) -> Any:
    """``numba.njit(cache=True)`` of ``py_func`` (``inline="always"`` if ``inline``), its cache
    stamped with :func:`package_stamp`.
    """
    import numba
    from numba.core.dispatcher import Dispatcher

    dispatcher = numba.njit(cache=False, fastmath=False,
                            inline="always" if inline else "never")(py_func)
    if isinstance(dispatcher, Dispatcher):  # not under NUMBA_DISABLE_JIT (a plain function)
        dispatcher._cache = _cache_class()(py_func)  # what njit(cache=True) sets, stamped
    return dispatcher


@functools.cache
def _cache_class() -> type:
    """A numba ``FunctionCache`` whose cache locators add :func:`package_stamp` to the stamp of
    the function's own file (numba's locators, in numba's order, otherwise unchanged).
    """
    from numba.core import caching

    class PackageStamp:
        def __init__(self, py_func: Any, py_file: str) -> None:
            super().__init__(py_func, py_file)  # type: ignore[call-arg]
            self._package_stamp = package_stamp(py_file, py_func.__module__)

        def get_source_stamp(self) -> Any:
            return (super().get_source_stamp(), self._package_stamp)  # type: ignore[misc]

    locators = [type(f"Package{cls.__name__}", (PackageStamp, cls), {})
                for cls in caching.CompileResultCacheImpl._locator_classes]
    impl = type("PackageCacheImpl", (caching.CompileResultCacheImpl,),
                {"_locator_classes": locators})
    return type("PackageFunctionCache", (caching.FunctionCache,), {"_impl_class": impl})


def compile_together(modules: Sequence[ModuleType]) -> None:
    """Run each module's ``compile_kernel()``, sharing the work with other processes doing the same.

    On a fresh machine (an empty cache) every process of a pool would compile every pass, the
    same ~20 s in each. Here each module is compiled under a lock file in the cache directory,
    one process at a time: a process takes the next module no other process holds (and whose
    callees' modules it has compiled or loaded, so a caller is not compiled beside its callee),
    then waits for the rest and loads them from the cache (tenths of a second). Two processes
    compile in about half the time of one. The locks are OS locks (:mod:`filelock`): a killed
    process releases its own. Where no lock file can be made, each module is compiled here alone.

    Args:
        modules: Modules with a ``compile_kernel()``, callees' modules before their callers'
            where possible (the first free one is taken: put the slowest early).
    """
    import filelock

    configure_cache()
    folder = Path(os.environ.get("NUMBA_CACHE_DIR") or PACKAGE_DIR / "__pycache__")
    names = [m.__name__ for m in modules]
    callees = {m.__name__: _callee_modules(m) & set(names) for m in modules}
    pending = dict(zip(names, modules, strict=True))
    done: set[str] = set()
    while pending:
        ready = [n for n in pending if callees[n] <= done] or list(pending)
        for name in ready:  # the first that no other process is compiling now
            if _compile_locked(pending[name], folder, filelock, wait=False):
                break
        else:  # every ready module is being compiled elsewhere: wait for the first, then load it
            name = ready[0]
            _compile_locked(pending[name], folder, filelock, wait=True)
        done.add(name)
        del pending[name]


def _callee_modules(module: ModuleType) -> set[str]:
    """The other modules whose compiled functions ``module``'s namespace holds (its callees')."""
    return {v.py_func.__module__ for v in vars(module).values()
            if isinstance(v, compiled) and v.py_func.__module__ != module.__name__}


WAIT_LIMIT = 600.0
"""Seconds a process waits for another's compilation of a module before compiling it itself (a
holder that is alive but stuck must not stop the others; compiling one module takes seconds)."""


def _compile_locked(module: ModuleType, folder: Path, filelock: Any, wait: bool) -> bool:
    """``module.compile_kernel()`` under the module's lock file in ``folder``; False if another
    process holds it and ``wait`` is False.
    """
    lock = filelock.FileLock(folder / f"outcome_gym-compile-{module.__name__}.lock",
                             thread_local=False, preserve_lock_file=True)
    locked = False
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=WAIT_LIMIT if wait else 0)
        locked = True
    except filelock.Timeout:  # (a TimeoutError, itself an OSError: caught first)
        if not wait:
            return False
        # the holder is stuck past the limit: compile here, without the lock
    except OSError:  # no lock file here (a read-only folder): compile without sharing
        pass
    try:
        module.compile_kernel()
    finally:
        if locked:
            lock.release()
    return True


def _by_name(module: str, name: str) -> Any:
    """The module-level object ``module.name`` (how a :class:`compiled` function unpickles)."""
    return getattr(importlib.import_module(module), name)
