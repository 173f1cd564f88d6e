"""Command-line helpers shared by RDIA.py, RDIA-LS.py and reproduce.py."""

import argparse


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line and exits with code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Append "(default: X)" to a flag's help unless its help already says the default
    or there is none to say (None, False)."""

    def _get_help_string(self, action):
        if "default" in (action.help or "") or action.default in (None, False):
            return action.help
        return super()._get_help_string(action)
