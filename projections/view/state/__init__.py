"""The account view's folded state, one part per module; `view.fold` composes them and says what each keeps."""
