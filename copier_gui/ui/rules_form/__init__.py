"""The rules form's parts: a Qt-free draft of the rules being edited, the field widgets, one
module per page (sizing, symbols, filters, stops, tolerances, risk, the YAML behind Advanced), the
preview bar and where its accounts are read from. ui.rules_editor puts them together."""
