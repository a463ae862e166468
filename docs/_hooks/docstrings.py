"""MkDocs hook: tidies two reStructuredText habits of srl_tf's docstrings in the rendered pages.

* Usage examples are written as ``>>>`` lines. Markdown reads ``>>>`` as three nested block
  quotes, which would show the code as quoted prose with its prompts gone; each such quote becomes
  a code block again, prompts included.
* Cross-references are written as Sphinx roles (``:class:`~srl_tf.memory.ReplayBuffer```), which
  Markdown renders as ``:class:`` followed by the code; the role is dropped, and a leading ``~``
  keeps only the last name, as Sphinx shows it.
"""

import html
import re

NESTED_QUOTE = re.compile(
    r"<blockquote>\s*<blockquote>\s*<blockquote>\s*<p>(?P<body>.*?)</p>\s*</blockquote>\s*</blockquote>\s*</blockquote>",
    re.S,
)
ROLE = re.compile(r":(?:class|meth|func|attr|mod|obj|data|exc):<code>(?P<tilde>~?)(?P<name>[^<]*)</code>")


def _as_code(match: re.Match) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", "", match.group("body")))
    lines = "\n".join(f">>> {line}" for line in text.splitlines())
    return f'<div class="highlight"><pre><code class="language-python">{html.escape(lines)}</code></pre></div>'


def _role(match: re.Match) -> str:
    name = match.group("name")
    if match.group("tilde"):
        name = name.rsplit(".", 1)[-1]
    return f"<code>{name}</code>"


def on_page_content(content, page, config, files):
    return ROLE.sub(_role, NESTED_QUOTE.sub(_as_code, content))
