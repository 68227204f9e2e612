"""A small result table that prints as text in a terminal and as HTML in a notebook."""

import html


def _cell(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class Table:
    """Rows of dicts with the same keys, shown as a table.

    >>> Table([{"activation": "ReLU", "f'(-1)": 0.0}])
    """

    def __init__(self, rows, title=None):
        self.rows = [dict(row) for row in rows]
        if not self.rows:
            raise ValueError("a Table needs at least one row")
        self.columns = list(self.rows[0])
        self.title = title

    def __repr__(self):
        text = [[_cell(row.get(c, "")) for c in self.columns] for row in self.rows]
        widths = [max(len(c), *(len(r[i]) for r in text)) for i, c in enumerate(self.columns)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(self.columns, widths)).rstrip()]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in text]
        return "\n".join(([self.title] if self.title else []) + lines)

    def _repr_html_(self):
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_cell(row.get(c, '')))}</td>" for c in self.columns) + "</tr>"
            for row in self.rows
        )
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
