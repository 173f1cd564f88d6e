"""README.md: the library example runs as written and relabeling helps in it."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_commands_are_the_documented_ones():
    text = README.read_text()
    assert "    pip install -r requirement.txt\n" in text
    assert "    python RDIA.py --dataset cancer --noise 0.8 --alpha 0.0002\n" in text
    assert "    python -m pytest\n" in text


def test_library_example_runs_and_lowers_validation_loss(capsys):
    blocks = python_blocks()
    assert blocks
    namespace = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    from models import logreg
    before = logreg.sample_losses(namespace["w"], namespace["X_val"], namespace["y_val"]).mean()
    after = logreg.sample_losses(namespace["w_rdia"], namespace["X_val"],
                                 namespace["y_val"]).mean()
    assert namespace["harmful"].sum() > 0
    assert after < before
    assert "relabeled" in capsys.readouterr().out
