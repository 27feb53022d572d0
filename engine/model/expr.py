"""A safe parser for target expressions such as ``1 + sin(pi/4*p)``.

The text is parsed with :mod:`ast` and walked node by node against a whitelist; nothing
is ever passed to ``eval``.  Allowed: numbers, the variable ``p`` (or ``x``; ``p1``,
``p2``... for several inputs), the constants ``pi`` and ``e``, ``+ - * / ** %``, unary
signs, and calls to the functions in :data:`FUNCTIONS`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["FUNCTIONS", "Expression", "ExpressionError"]

MAX_LENGTH = 500
MAX_DEPTH = 40

FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "arctan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "exp": np.exp,
    "log": np.log,
    "log10": np.log10,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "sign": np.sign,
    "floor": np.floor,
    "ceil": np.ceil,
    "min": np.minimum,
    "max": np.maximum,
    "logsig": lambda n: 0.5 * (1.0 + np.tanh(0.5 * n)),
    "tansig": np.tanh,
}
_ARITY = {"min": 2, "max": 2}
CONSTANTS = {"pi": np.pi, "e": np.e}
_BINOPS = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
    ast.Mod: np.mod,
}


class ExpressionError(ValueError):
    """The expression is not valid maths; the message says where and why."""


@dataclass(frozen=True)
class Expression:
    """A parsed expression in the inputs ``p`` (one input) or ``p1..pR``.

    >>> Expression.parse("1 + sin(pi/4*p)")(np.array([[0.0, 2.0]]))
    array([1., 2.])
    """

    text: str
    tree: ast.Expression
    n_inputs: int

    @classmethod
    def parse(cls, text: str, n_inputs: int = 1) -> Expression:
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError("expression: empty; type a formula in p, e.g. 1 + sin(pi/4*p)")
        if len(text) > MAX_LENGTH:
            raise ExpressionError(f"expression: longer than {MAX_LENGTH} characters")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            col = f" at column {exc.offset}" if exc.offset else ""
            raise ExpressionError(f"expression: syntax error{col}: {text.strip()!r}") from None
        except (ValueError, MemoryError, RecursionError) as exc:  # e.g. a 5000-digit literal
            raise ExpressionError(f"expression: cannot be read ({exc})") from None
        expr = cls(text.strip(), tree, n_inputs)
        expr._check(tree.body, 0)
        return expr

    def variables(self) -> tuple[str, ...]:
        if self.n_inputs == 1:
            return ("p", "x", "p1")
        return tuple(f"p{i}" for i in range(1, self.n_inputs + 1))

    def _check(self, node: ast.AST, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"expression: nested deeper than {MAX_DEPTH} levels")
        match node:
            case ast.Constant(value=v) if isinstance(v, int | float) and not isinstance(v, bool):
                if isinstance(v, int) and v.bit_length() > 1024:  # beyond float's range
                    raise ExpressionError(
                        f"expression: the number {_short(v)} is too large "
                        "(the largest is about 1.8e308)"
                    )
                return
            case ast.Name(id=name):
                if name in CONSTANTS or name in self.variables():
                    return
                if name in FUNCTIONS:
                    raise ExpressionError(f"expression: {name} is a function; write {name}(...)")
                raise ExpressionError(
                    f"expression: unknown name {name!r}; use {', '.join(self.variables()[:1])}"
                    f"{'' if self.n_inputs == 1 else '..p' + str(self.n_inputs)}, pi, e "
                    f"or a function: {', '.join(FUNCTIONS)}"
                )
            case ast.BinOp(left=l, op=op, right=r):
                if type(op) not in _BINOPS:
                    raise ExpressionError(
                        f"expression: operator {type(op).__name__} is not allowed; use + - * / ** %"
                    )
                self._check(l, depth + 1)
                self._check(r, depth + 1)
                return
            case ast.UnaryOp(op=ast.UAdd() | ast.USub(), operand=o):
                self._check(o, depth + 1)
                return
            case ast.Call(func=ast.Name(id=name), args=args, keywords=[]):
                if name not in FUNCTIONS:
                    raise ExpressionError(
                        f"expression: unknown function {name!r}; choose one of "
                        f"{', '.join(FUNCTIONS)}"
                    )
                want = _ARITY.get(name, 1)
                if len(args) != want:
                    raise ExpressionError(
                        f"expression: {name}() takes {want} argument{'s' * (want > 1)}, "
                        f"got {len(args)}"
                    )
                for a in args:
                    self._check(a, depth + 1)
                return
        what = type(node).__name__
        raise ExpressionError(f"expression: {what} is not allowed here; only arithmetic in p")

    def __call__(self, P: np.ndarray) -> np.ndarray:
        """Evaluate at inputs ``P`` of shape ``(R, Q)``; returns shape ``(Q,)``."""
        P = np.asarray(P, dtype=float)
        env = dict(CONSTANTS)
        if self.n_inputs == 1:
            env.update(p=P[0], x=P[0], p1=P[0])
        else:
            env.update({f"p{i + 1}": P[i] for i in range(self.n_inputs)})
        with np.errstate(all="ignore"):
            out = self._eval(self.tree.body, env)
        return np.broadcast_to(np.asarray(out, dtype=float), P.shape[1:]).copy()

    def _eval(self, node: ast.AST, env: dict) -> np.ndarray | float:
        match node:
            case ast.Constant(value=v):
                return float(v)  # float, so 9**9**9 overflows to inf instead of hanging
            case ast.Name(id=name):
                return env[name]
            case ast.BinOp(left=l, op=op, right=r):
                return _BINOPS[type(op)](self._eval(l, env), self._eval(r, env))
            case ast.UnaryOp(op=op, operand=o):
                v = self._eval(o, env)
                return -v if isinstance(op, ast.USub) else v
            case ast.Call(func=ast.Name(id=name), args=args):
                return FUNCTIONS[name](*(self._eval(a, env) for a in args))
        raise ExpressionError(f"expression: cannot evaluate {type(node).__name__}")


def _short(v: int) -> str:
    digits = len(str(abs(v))) if v.bit_length() < 14000 else "thousands of"
    return f"with {digits} digits"
