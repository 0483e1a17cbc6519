# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host-side reader of nginx configuration text: tokens with their line, and statements.

The one tokenizer of the managed host (includes, error_log, certificate paths, the tls_policy
role's scan); the controller parses with crossplane (plugins/plugin_utils/_nginx/parse.py).
It reads text the way nginx's ngx_conf_read_token() does (nginx 1.22 checked with ``nginx -t``
in tests/integration/test_nginx_reader_parity.py):

* separators are space, tab, CR and LF only, and ``;`` and ``{``; ``}`` ends a statement only
  where a token starts (``a}b`` is one word, as in nginx);
* ``#`` starts a comment only where a token starts (``a#b`` and ``"a#b"`` are words);
* a quote opens a quoted string only where a token starts (``a"b`` is one word);
* a backslash protects the next character from any special meaning, in quotes and in bare
  words; in every word nginx then turns ``\\"`` ``\\'`` ``\\\\`` into the character and ``\\t``
  ``\\r`` ``\\n`` into tab, CR and LF, and keeps any other backslash (``a\\ b`` stays ``a\\ b``);
* ``{`` right after ``$`` stays in the word (``${name}``); whitespace, ``;`` and a ``{`` not
  after ``$`` still end it, so an unclosed ``${`` never swallows the statements after it.

Lenient mode (the default) reads any text without an exception and keeps what it can: an
unterminated quoted string is returned up to the end of the text, a stray ``}`` is skipped.
Strict mode raises NginxSyntaxError naming FILE:LINE for what nginx itself refuses: an
unterminated quoted string (named at the line of its opening quote, where nginx only says
"unexpected end of file"), a character glued to a closing quote, an empty statement,
unbalanced braces and a statement cut off by the end of the file.
"""

from __future__ import annotations

from collections import namedtuple

SEPARATORS = " \t\r\n"
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "t": "\t", "r": "\r", "n": "\n"}
_AFTER_QUOTE = SEPARATORS + ";{)"

# value: the word as nginx reads it; quoted: it was written in quotes; line: 1-based line of its
# first character; start/end: offsets of the token as written (quotes included) in the text.
Token = namedtuple("Token", "value quoted line start end")
# name/args: the words; line: of the name; end_line: of the ";" or "{" that ends it; context: the
# enclosing blocks, outermost first ("http", "server", "location /api/"); spans: (start, end)
# of each argument as written; file: the path given to parse(), or None.
Statement = namedtuple("Statement", "name args line end_line context spans file")


class NginxSyntaxError(ValueError):
    """Text nginx would refuse; ``str()`` names FILE:LINE (``file`` may be None for bare text)."""

    def __init__(self, file, line, problem):
        self.file, self.line, self.problem = file, line, problem
        super(NginxSyntaxError, self).__init__("%s:%d: %s" % (file or "<text>", line, problem))


def unescape(raw):
    """A word as nginx stores it: the escapes of the module docstring applied, other backslashes kept."""
    if "\\" not in raw:
        return raw
    out, i, n = [], 0, len(raw)
    while i < n:
        if raw[i] == "\\" and i + 1 < n and raw[i + 1] in _ESCAPES:
            out.append(_ESCAPES[raw[i + 1]])
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


def _bare_word_end(text, i):
    """Offset just past the bare word starting at ``i`` (ngx_conf_read_token's word loop)."""
    n, variable = len(text), False
    while i < n:
        ch = text[i]
        if ch == "{" and variable:
            i += 1              # nginx keeps the variable flag here: "${{" stays in the word too
            continue
        variable = False
        if ch == "\\":
            i += 2
            continue
        if ch == "$":
            variable = True
        elif ch in SEPARATORS or ch in ";{":
            return i
        i += 1
    return n


def scan(text, path=None, strict=False):
    """Yield the Token of every word and of every ``{`` ``}`` ``;`` of ``text``; comments dropped."""
    i, n = 0, len(text)
    line, counted = 1, 0
    while i < n:
        ch = text[i]
        if ch in SEPARATORS:
            i += 1
            continue
        if ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        line += text.count("\n", counted, i)
        counted = i
        if ch in "{};":
            yield Token(ch, False, line, i, i + 1)
            i += 1
        elif ch in "\"'":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                if strict:
                    raise NginxSyntaxError(path, line, "unterminated quoted string: the %s opened here is never "
                                                       "closed (nginx: unexpected end of file); close it" % ch)
                yield Token(unescape(text[i + 1:n]), True, line, i, n)
                return
            yield Token(unescape(text[i + 1:j]), True, line, i, j + 1)
            i = j + 1
            if strict and i < n and text[i] not in _AFTER_QUOTE:
                raise NginxSyntaxError(path, line + text.count("\n", counted, i),
                                       'unexpected "%s" right after a quoted string; put a space before it' % text[i])
        else:
            j = _bare_word_end(text, i)
            yield Token(unescape(text[i:j]), False, line, i, j)
            i = j


def tokens(text):
    """``(value, quoted)`` of every token of ``text`` (lenient)."""
    for token in scan(text):
        yield token.value, token.quoted


def _block_name(name, args):
    return "location " + " ".join(args) if name == "location" else name


def parse(text, path=None, strict=False, context=()):
    """Yield the Statement of every directive of ``text``, blocks included, in order.

    A block directive (``http {``) is yielded when its ``{`` is read, before what it holds.
    ``context`` is the context of the text as a whole (an included file inherits its include's).
    """
    stack, words = [tuple(context)], []

    def fail(line, problem):
        if strict:
            raise NginxSyntaxError(path, line, problem)

    for token in scan(text, path, strict):
        if token.quoted or token.value not in ("{", "}", ";"):
            words.append(token)
            continue
        if token.value == "}":
            if words:
                fail(words[0].line, 'unexpected "}": the statement "%s" lacks its ";"' % words[0].value)
                yield _statement(words, token.line, stack[-1], path)
                words = []
            if len(stack) == 1:
                fail(token.line, 'unexpected "}": no block is open here')
            else:
                stack.pop()
            continue
        if not words:
            fail(token.line, 'unexpected "%s": no directive before it' % token.value)
            continue
        statement = _statement(words, token.line, stack[-1], path)
        words = []
        yield statement
        if token.value == "{":
            stack.append(stack[-1] + (_block_name(statement.name, statement.args),))
    if words:
        fail(words[0].line, 'unexpected end of file, expecting ";" or "}" after "%s"' % words[0].value)
        yield _statement(words, words[-1].line, stack[-1], path)
    if len(stack) > 1:
        fail(text.count("\n") + 1, 'unexpected end of file, expecting "}" to close "%s"' % stack[-1][-1])


def _statement(words, end_line, context, path):
    return Statement(words[0].value, [w.value for w in words[1:]], words[0].line, end_line, context,
                     [(w.start, w.end) for w in words[1:]], path)


def statements(text):
    """``(directive, args)`` of every statement, at any depth (lenient)."""
    for statement in parse(text):
        yield statement.name, statement.args


def located_statements(text):
    """``(directive, args, line, spans)`` of every statement, at any depth (lenient).

    ``line`` is the 1-based line of the directive's name; ``spans`` holds one ``(start, end)``
    offset pair per argument, its text as written in ``text``.
    """
    for statement in parse(text):
        yield statement.name, statement.args, statement.line, statement.spans
