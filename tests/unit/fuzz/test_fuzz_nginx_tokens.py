# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Properties of the host-side nginx tokenizer (plugins/module_utils/_nginx/tokens.py).

The modules read the configuration on the host with this tokenizer (includes, error_log,
certificate paths); the controller parses the same text with crossplane.  On configurations made
from nginx's grammar both must read the same statements, and the tokens must be those the
configuration was written from.  Any text at all is tokenized without an exception, in linear time.

Where crossplane differs from nginx, this tokenizer reads as nginx does (nginx is the reference;
tests/integration/test_nginx_reader_parity.py asks the real nginx); the differences are pinned by
test_known_differences_from_crossplane below, and the grammar here does not generate them:

* escapes: nginx (and this tokenizer) turn \\" \\' \\\\ into the character and \\n \\r \\t into
  control characters, and keep any other backslash; crossplane unescapes only the quote that
  opened the string;
* an unterminated quote at the end of the text: nginx fails ("unexpected end of file"), strict
  mode here too (naming the line of the quote), crossplane drops the last token silently, lenient
  mode here returns it;
* ``}`` inside a bare word: nginx and this tokenizer keep it in the word; crossplane ends the word;
* ``${`` inside a word: a ``{`` right after ``$`` stays in the word, whitespace, ``;`` and another
  ``{`` end it (as in nginx); crossplane also reads ``;`` and ``{`` into the variable, and keeps
  the whitespace after an unclosed one;
* crossplane glues the character after the ``}`` of ``${name}`` to the word even when it is
  whitespace or a quote (``${a} b`` is one token there): the grammar puts a word character after it.
"""

from __future__ import annotations

import crossplane
import pytest
from hypothesis import example, given, strategies as st

from ansible_collections.tlsops.handshake.plugins.module_utils._nginx import tokens as nt
from tests.unit.fuzz.fuzzing import examples, timed

# ---------------------------------------------------------------------------
# A generator of valid configurations: statements, blocks, comments, every kind of argument
# ---------------------------------------------------------------------------

# not "if": crossplane strips the parentheses of its condition
_NAME_START, _NAME_REST = "abcdefghijklmnopqrstuvwxyz_", "abcdefghijklmnopqrstuvwxyz_0123456789"
_directive = st.builds(str.__add__, st.sampled_from(_NAME_START), st.text(_NAME_REST, max_size=12)).filter(
    lambda name: name != "if")
_variable = st.builds(str.__add__, st.sampled_from(_NAME_START), st.text(_NAME_REST, max_size=8))
_BARE = "abcxyzABC019/._-:=*~^()[]|,@!?<>&%+#'\""
# A bare word: no whitespace, ; { } (they end it); not starting with # (a comment) or a quote.
_bare = st.tuples(st.text(_BARE.replace("#", "").replace("'", "").replace('"', ""), min_size=1, max_size=1),
                  st.lists(st.one_of(st.text(_BARE, min_size=1, max_size=4), _variable.map(lambda v: "$" + v),
                                     _variable.map(lambda v: "${" + v + "}x")),
                           max_size=4)).map(lambda t: t[0] + "".join(t[1]))


def _quoted(quote):
    # Inside quotes: anything but the quote and the backslash, and the quote escaped (the one
    # escape nginx, crossplane and this tokenizer read alike); no CR (crossplane reads the file
    # with universal newlines, which turns it into LF).
    text = st.lists(st.one_of(st.text(st.characters(blacklist_characters=quote + "\\\r", blacklist_categories=("Cs",)),
                                      min_size=1, max_size=6), st.just("\\" + quote)), max_size=4).map("".join)
    return text.map(lambda t: (quote + t + quote, t.replace("\\" + quote, quote), True))


_argument = st.one_of(_bare.map(lambda w: (w, w, False)), _quoted('"'), _quoted("'"))
_space = st.sampled_from([" ", "  ", "\t", "\n", "\r\n", " \n\t"])
_comment = st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=20).map(
    lambda t: "#" + t + "\n")


def _render(statements, out, expected, flat):
    """Append the text of ``statements`` to ``out``; their tokens to ``expected``, (name, args) to ``flat``."""
    for name, args, seps, comment, block in statements:
        out.append(seps[0] + name)
        expected.append((name, False))
        for index, (text, token, quoted) in enumerate(args):
            out.append(seps[(index + 1) % len(seps)] + text)
            expected.append((token, quoted))
        flat.append((name, [token for _text, token, _quoted in args]))
        if block is None:
            out.append(";")
            expected.append((";", False))
        else:
            out.append(" {")
            expected.append(("{", False))
            _render(block, out, expected, flat)
            out.append("\n}")
            expected.append(("}", False))
        if comment:
            out.append(" " + comment)


def _statement(block):
    return st.tuples(_directive, st.lists(_argument, max_size=4), st.lists(_space, min_size=1, max_size=5),
                     st.one_of(st.none(), _comment), block)


_statements = st.recursive(st.lists(_statement(st.none()), max_size=4),
                           lambda inner: st.lists(_statement(st.one_of(st.none(), inner)), max_size=4), max_leaves=12)


@st.composite
def configs(draw):
    out, expected, flat = [], [], []
    _render(draw(_statements), out, expected, flat)
    return "".join(out) + "\n", expected, flat


# ---------------------------------------------------------------------------
# Round trip, and crossplane as the oracle
# ---------------------------------------------------------------------------

@examples(300)
@given(config=configs())
def test_tokens_of_a_generated_config_are_those_it_was_written_from(config):
    text, expected, flat = config
    assert list(nt.tokens(text)) == expected
    assert [(name, list(args)) for name, args in nt.statements(text)] == flat


def _crossplane_statements(path):
    payload = crossplane.parse(str(path), single=True, check_ctx=False, check_args=False, comments=False)
    assert payload["status"] == "ok", payload["errors"]
    flat = []

    def walk(block):
        for stmt in block:
            flat.append((stmt["directive"], stmt["args"]))
            walk(stmt.get("block", []))

    walk(payload["config"][0]["parsed"])
    return flat


@pytest.fixture(scope="module")
def conf_path(tmp_path_factory):
    return tmp_path_factory.mktemp("nginx-tokens") / "nginx.conf"


@examples(150)
@given(config=configs())
def test_crossplane_reads_the_same_statements(conf_path, config):
    text, _expected, flat = config
    conf_path.write_text(text, encoding="utf-8")
    assert [(name, list(args)) for name, args in nt.statements(text)] == _crossplane_statements(conf_path) == flat


# ---------------------------------------------------------------------------
# Any text: no exception, linear time, and nothing swallowed
# ---------------------------------------------------------------------------

_hostile = st.lists(st.one_of(st.sampled_from(["${", "$", "{", "}", ";", "#", "\"", "'", "\\", "\n", " ", "include",
                                               "x"]), st.text(max_size=5)), max_size=40).map("".join)


@examples(400)
@given(text=st.one_of(st.text(max_size=200), _hostile))
@example(text="\\\x85").via("make fuzz: an escaped NEL (str.isspace) stays in the word, as intended")
def test_any_text_tokenizes_without_an_exception(text):
    tokens = list(nt.scan(text))
    assert all(isinstance(t.value, str) and isinstance(t.quoted, bool) for t in tokens)
    # what is not in quotes never holds a separator as written: nginx's blanks and ; always end a
    # bare word, unless a backslash escapes them; tokens come in order, with their line
    end, line = 0, 1
    for token in tokens:
        assert end <= token.start < token.end <= len(text)
        line += text.count("\n", end, token.start)
        assert token.line == line
        if not token.quoted and token.value not in ("{", "}", ";"):
            assert not any(c in " \t\r\n;" for c in _unescaped(text[token.start:token.end])), token
        line += text.count("\n", token.start, token.end)
        end = token.end
    list(nt.statements(text))


def _unescaped(word):
    """The characters of a bare word as written that no backslash escapes."""
    chars, escaped = [], False
    for char in word:
        if not escaped and char != "\\":
            chars.append(char)
        escaped = not escaped and char == "\\"
    return chars


@examples(200)
@given(before=st.sampled_from(["${", "x${", "${a", "a${b c"]), after=configs())
@example(before="${", after=("\ninclude /etc/nginx/extra.conf;\nerror_log /var/log/x.log;\n}\n", None, None)).via(
    "before: an unclosed ${ swallowed everything up to the next }")
def test_an_unclosed_variable_does_not_swallow_the_statements_after_it(before, after):
    text = after[0]
    flat = [(name, list(args)) for name, args in nt.statements(text)]
    got = [(name, list(args)) for name, args in nt.statements("set $x " + before + ";\n" + text)]
    assert got[1:] == flat and got[0][0] == "set"


@examples(10)
@given(unit=st.sampled_from(["${", "\"", "#", "x", "\\x", "${a} ", "{", "'"]), size=st.integers(10000, 200000))
def test_tokenizing_costs_linear_time(unit, size):
    text = unit * (size // len(unit))
    seconds, tokens = timed(lambda: list(nt.tokens(text)))
    assert seconds < 2, (unit, seconds)


# ---------------------------------------------------------------------------
# The differences, pinned (see the module docstring)
# ---------------------------------------------------------------------------

def _crossplane_tokens(text):
    import io  # pylint: disable=import-outside-toplevel

    from crossplane.lexer import _lex_file_object  # pylint: disable=import-outside-toplevel

    return [(t, q) for t, _line, q in _lex_file_object(io.StringIO(text))]


@pytest.mark.parametrize("text, ours, theirs", [
    # escapes in quotes (nginx: x"y, x\y, x<newline>y, x\qy; checked with nginx -t in
    # tests/integration/test_nginx_reader_parity.py)
    ('a "x\\"y";', 'x"y', 'x"y'),
    ('a "x\\\\y";', "x\\y", "x\\\\y"),
    ('a "x\\ny";', "x\ny", "x\\ny"),
    ('a "x\\qy";', "x\\qy", "x\\qy"),
    ("a 'x\\\"y';", 'x"y', 'x\\"y'),
])
def test_known_differences_from_crossplane(text, ours, theirs):
    assert list(nt.tokens(text))[1] == (ours, True)
    assert _crossplane_tokens(text)[1] == (theirs, True)


def test_known_differences_at_the_end_and_in_variables():
    # an unterminated quote at the end: crossplane drops it, lenient mode keeps it, strict mode
    # refuses it at the line of the quote (nginx: "unexpected end of file")
    assert list(nt.tokens('a "b')) == [("a", False), ("b", True)]
    assert _crossplane_tokens('a "b') == [("a", False)]
    with pytest.raises(nt.NginxSyntaxError, match=r"^f.conf:2: unterminated quoted string"):
        list(nt.scan('a;\nb "c;\n', "f.conf", strict=True))
    # } inside a bare word: nginx and this tokenizer keep it (a}b is one word); crossplane ends the word
    assert list(nt.tokens("a}b;")) == [("a}b", False), (";", False)]
    assert _crossplane_tokens("a}b;") == [("a", False), ("}", False), ("b", False), (";", False)]
    # ${ with whitespace before its }: nginx and this tokenizer end the word; crossplane keeps the blank
    assert list(nt.tokens("a ${b c};")) == [("a", False), ("${b", False), ("c}", False), (";", False)]
    assert _crossplane_tokens("a ${b c};")[1] == ("${b c", False)
    # ; inside ${...}: nginx and this tokenizer end the statement; crossplane reads it into the variable
    assert list(nt.tokens("a ${b;c};"))[:3] == [("a", False), ("${b", False), (";", False)]
    assert _crossplane_tokens("a ${b;c};")[1] == ("${b;c}", False)
    # what follows ${name}} is glued to it by crossplane, even a blank
    assert list(nt.tokens("a ${b} c;"))[1:3] == [("${b}", False), ("c", False)]
    assert _crossplane_tokens("a ${b} c;")[1] == ("${b} c", False)
