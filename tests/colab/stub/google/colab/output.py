"""Stand-in for ``google.colab.output`` (widget manager switches, a cleared output)."""

_custom_widget_manager = False


def enable_custom_widget_manager() -> None:
    global _custom_widget_manager
    _custom_widget_manager = True


def disable_custom_widget_manager() -> None:
    global _custom_widget_manager
    _custom_widget_manager = False


def clear(wait: bool = False, output_tags=()) -> None:
    from IPython.display import clear_output

    clear_output(wait=wait)


def eval_js(script: str, ignore_result: bool = False, timeout_sec=None):
    raise NotImplementedError("google.colab.output.eval_js needs a browser (Colab simulation)")
