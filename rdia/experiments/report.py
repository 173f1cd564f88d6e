"""Report helpers shared by the engines: spreads over seeds, markdown, published numbers."""

import numpy as np

#: Published RDIA test log-loss on MNIST 1 vs 7 (docs/method.md section 4): alpha -> noise -> value.
PUBLISHED_MNIST_LOGLOSS = {
    0.01: {0.0: 0.0235, 0.2: 0.0443, 0.5: 0.0903, 0.8: 0.1009},
    0.002: {0.0: 0.0207, 0.2: 0.0315, 0.5: 0.0519, 0.8: 0.0465},
    0.0002: {0.0: 0.0903, 0.2: 0.0392, 0.5: 0.0410, 0.8: 0.0405},
}

#: Published RDIA-LS last-10-epoch mean test accuracy (%, mean and std over seeds) at
#: symmetric noise 0.8 (docs/method.md section 5): dataset -> (mean, std).
PUBLISHED_RDIA_LS = {"mnist": (87.85, 0.21), "cifar10": (25.35, 0.17)}


def mean_std(values):
    """Mean and sample standard deviation (ddof = 1; 0 for a single value).

    Parameters
    ----------
    values : sequence of float

    Returns
    -------
    mean, std : float
    """
    values = np.asarray(values, dtype=float)
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return float(values.mean()), float(std)


def format_mean_std(values, digits=4):
    """``"mean ± std"`` of :func:`mean_std`, with ``digits`` decimals; the value alone
    when there is one (a single seed has no spread)."""
    mean, std = mean_std(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def over_seeds(seeds):
    """How a table's cells summarise seeds: "Mean ± sample std over 3 seeds (0, 1, 2)",
    or "One seed (0)"."""
    listed = ", ".join(map(str, seeds))
    if len(seeds) == 1:
        return f"One seed ({listed})"
    return f"Mean ± sample std over {len(seeds)} seeds ({listed})"


def plural(count, noun):
    """"1 seed", "3 seeds"."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def markdown_table(header, rows):
    """A markdown table from a header and rows of cells (any values, shown with str)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
