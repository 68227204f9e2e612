"""What every plot and explorer shares: axes set-up, PNG rendering, the explorer base class."""

import io


def figure_to_png(fig, dpi=80):
    """Render a matplotlib figure to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
