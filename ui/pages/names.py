"""Names and organisation: what goes into the request, validated as the user types."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import flow, renewal_lookup
from app.errors import AccertError
from app.flow import Page
from app.names import bare_domain, countries, is_ip, san_error, to_ascii, to_unicode
from app.peer_text import escape_peer
from app.request import FieldError, KeyType, RequestSpec, Subject, require_valid, validate
from app.workspace import Workspace
from ui.base import BasePage, ShrinkingBody, note, scrolling
from ui.device_dialog import ask_device
from ui.key_origin import KeyOriginBox
from ui.message import Message

FIELDS = (
    "common_name",
    "sans",
    "organization",
    "organizational_unit",
    "locality",
    "state",
    "country",
    "email",
)


def _other_form(typed: str) -> tuple[str, str] | None:
    """("csr", the `xn--` form the CSR will hold) for `*.bücher.example`: the engine's own
    conversion, the one request.py applies; ("reads", the Unicode reading, escaped: it may
    come from a certificate) for an `xn--` name. None for ASCII names, IP addresses and names
    whose error the field already shows."""
    name = typed.strip()
    if not name or is_ip(name) or san_error(name) is not None:
        return None
    ascii_name = to_ascii(name)  # valid: san_error converted it already
    if ascii_name != name:
        return "csr", ascii_name
    unicode_form = to_unicode(name)
    return ("reads", escape_peer(unicode_form)) if unicode_form else None


def idna_text(names: list[str], *, with_names: bool) -> str:
    """The line under a name field, empty when every name is plain ASCII. with_names: a list
    of names, each shown beside its other form; else the name is the one in the field above."""
    parts: list[str] = []
    for name in names:
        other = _other_form(name)
        if other is None:
            continue
        kind, form = other
        if with_names:
            arrow = "\u2192" if kind == "csr" else "reads as"
            parts.append(f"{escape_peer(name.strip())} {arrow} {form}")
        else:
            parts.append(f"In the CSR: {form}" if kind == "csr" else f"Reads as: {form}")
    if with_names and parts:
        return "In the CSR: " + "; ".join(parts)
    return "; ".join(parts)


def _idna_label() -> QLabel:
    label = note("")
    label.setTextFormat(Qt.TextFormat.PlainText)  # a name is never markup
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


class _EnterAdds(QObject):
    """Enter in the 'add a name' box adds the name instead of pressing Next."""

    def __init__(self, page: NamesPage) -> None:
        super().__init__(page)
        self.page = page

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and self.page.san_input.text().strip()
        ):
            self.page.add_san()
            return True
        return False


class NamesPage(BasePage):
    page_id = Page.NAMES

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.touched: set[str] = set()
        self.errors: dict[str, Message] = {f: Message() for f in FIELDS}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.cn = QLineEdit()
        self.cn.setPlaceholderText("*.example.com or sbc.example.com")
        self.bare = QCheckBox()
        self.bare.setChecked(True)
        # Its room is kept while hidden: the note and the rows below do not jump when a
        # wildcard makes it appear.
        policy = self.bare.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.bare.setSizePolicy(policy)
        self.bare.setText("Also include the bare domain")
        self.bare.hide()
        self.cn_idna = _idna_label()
        self._row(
            form,
            "Co&mmon name (CN):",
            "common_name",
            self.cn,
            self.cn,
            self.cn_idna,
            self.bare,
            note(
                "A wildcard (*.example.com) covers one level of names (sbc1.example.com) but "
                "not example.com itself: for a wildcard, a box under the name includes it."
            ),
        )

        self.san_list = QListWidget()
        self.san_list.setMaximumHeight(110)
        # Down to three lines when the page is short (errors, the device row, a small screen).
        lines = self.san_list.fontMetrics().lineSpacing() * 3
        self.san_list.setMinimumHeight(lines + 2 * self.san_list.frameWidth() + 4)
        self.san_list.itemChanged.connect(lambda *_: self._edited("sans"))
        model = self.san_list.model()
        model.rowsInserted.connect(lambda *_: self._show_idna())
        model.rowsRemoved.connect(lambda *_: self._show_idna())
        model.dataChanged.connect(lambda *_: self._show_idna())
        self.san_input = QLineEdit()
        self.san_input.setPlaceholderText("Another name or IP address, then Enter")
        self.san_input.installEventFilter(_EnterAdds(self))
        add = QPushButton("&Add")
        add.clicked.connect(self.add_san)
        remove = QPushButton("&Remove")
        remove.clicked.connect(self.remove_san)
        san_row = QHBoxLayout()
        san_row.addWidget(self.san_input, 1)
        san_row.addWidget(add)
        san_row.addWidget(remove)
        self.san_input_idna = _idna_label()
        self.san_idna = _idna_label()
        self.san_input.textChanged.connect(lambda *_: self._show_idna())
        self._row(
            form,
            "Other names (SAN&s):",
            "sans",
            self.san_input,
            san_row,
            self.san_input_idna,
            self.san_list,
            self.san_idna,
        )

        self.org = QLineEdit()
        self._row(form, "&Organisation (O):", "organization", self.org)
        self.ou = QLineEdit()
        self._row(form, "Organisational &unit (OU):", "organizational_unit", self.ou)
        self.locality = QLineEdit()
        self._row(form, "&City / locality (L):", "locality", self.locality)
        self.state = QLineEdit()
        self._row(form, "S&tate / county (ST):", "state", self.state)
        self.country = QComboBox()
        self.country.setEditable(True)
        self.country.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.country.addItem("", "")
        for code, name in sorted(countries().items(), key=lambda kv: kv[1]):
            self.country.addItem(f"{name} ({code})", code)
        completer = self.country.completer()
        if completer is not None:
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self._row(form, "Countr&y (C):", "country", self.country)
        self.email = QLineEdit()
        self.email.setPlaceholderText("optional")
        self._row(form, "&E-mail:", "email", self.email)

        self.key_type = QComboBox()
        for kt in KeyType:
            self.key_type.addItem(kt.label, kt.value)
        self.key_note = note("")
        self.key_type.currentIndexChanged.connect(self._key_changed)
        key_label = QLabel("&Key type:")
        key_label.setBuddy(self.key_type)
        key_box = QVBoxLayout()
        key_box.addWidget(self.key_type)
        key_box.addWidget(self.key_note)
        form.addRow(key_label, key_box)

        self.key_origin = KeyOriginBox(lambda: ask_device(self, None, "", self.tasks))
        self.key_origin.on_device.toggled.connect(self._origin_changed)
        self.key_origin.device.currentIndexChanged.connect(lambda *_: self._refresh_errors())
        self.key_origin.password.textChanged.connect(lambda *_: self._refresh_errors())
        form.addRow("Private key:", self.key_origin)

        self.locked = Message()
        body = ShrinkingBody()
        body.shrinkable.append(self.san_list)  # the one row that can give way
        outer = QVBoxLayout(body)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.locked)
        outer.addLayout(form)
        outer.addWidget(self.message)
        outer.addStretch(1)
        # Several errors at once, or a short window, scroll rather than squeeze.
        scrolling(self, body)

        for field, widget in (
            ("common_name", self.cn),
            ("organization", self.org),
            ("organizational_unit", self.ou),
            ("locality", self.locality),
            ("state", self.state),
            ("email", self.email),
        ):
            widget.textEdited.connect(lambda _t, f=field: self._edited(f))
        self.cn.textChanged.connect(self._cn_changed)
        self.cn.textChanged.connect(lambda *_: self._refresh_errors())
        self.bare.toggled.connect(lambda *_: self._edited("sans"))
        self.country.editTextChanged.connect(lambda *_: self._edited("country"))
        self.country.currentIndexChanged.connect(lambda *_: self._edited("country"))
        self._key_changed()

    def _row(
        self, form: QFormLayout, text: str, field: str, buddy: QWidget, *items: QWidget | QLayout
    ) -> None:
        label = QLabel(text)
        label.setBuddy(buddy)
        box = QVBoxLayout()
        box.setSpacing(2)
        for item in items or (buddy,):
            if isinstance(item, QWidget):
                box.addWidget(item)
            else:
                box.addLayout(item)
        box.addWidget(self.errors[field])
        form.addRow(label, box)

    # --- reading and showing ----------------------------------------------------------------

    def initializePage(self) -> None:
        ws = self.session.workspace
        self.touched.clear()
        self.message.clear_message()
        names = self.session.suggested_names
        if ws is not None:
            self.load(ws.state.request)
        elif names:  # "renew these" from the estate dashboard
            subject = replace(renewal_lookup.default_subject(), common_name=names[0])
            self.load(
                RequestSpec(subject, tuple(n for n in names[1:] if n != bare_domain(names[0])))
            )
        else:
            self.load(RequestSpec(renewal_lookup.default_subject()))
        editable = flow.names_editable(self.session.stage)
        self.key_origin.setEnabled(editable)
        self.key_origin.here.setChecked(self.session.device_key is None)
        widgets: tuple[QWidget, ...] = (self.cn, self.bare, self.san_list, self.san_input)
        widgets += (self.org, self.ou, self.locality, self.state, self.country, self.email)
        for w in (*widgets, self.key_type):
            w.setEnabled(editable)
        if editable:
            self.locked.clear_message()
            self.cn.setFocus()
        else:
            self.locked.show_message(
                "info",
                "The key and CSR exist, so these names can no longer change. Start a new "
                "renewal for different names.",
            )
        self._refresh_errors()

    def load(self, spec: RequestSpec) -> None:
        s = spec.subject
        self.cn.setText(s.common_name)
        self.bare.setChecked(spec.include_bare_domain)
        self.san_list.clear()
        for name in spec.sans:
            self._add_item(name)
        self.org.setText(s.organization)
        self.ou.setText(s.organizational_unit)
        self.locality.setText(s.locality)
        self.state.setText(s.state)
        index = self.country.findData(s.country.upper()) if s.country else 0
        self.country.setCurrentIndex(max(index, 0))
        self.email.setText(s.email)
        self.key_type.setCurrentIndex(max(self.key_type.findData(spec.key_type.value), 0))

    def country_code(self) -> str:
        """The code for what is shown or typed: "United Kingdom (GB)", "United Kingdom", "gb"."""
        text = self.country.currentText().strip()
        if text.endswith(")") and "(" in text:
            return text.rsplit("(", 1)[1].rstrip(")").strip()
        by_name = {name.casefold(): code for code, name in countries().items()}
        return by_name.get(text.casefold(), text)  # a typed code: validated like any other

    def spec(self) -> RequestSpec:
        sans = tuple(
            item.text().strip()
            for item in (self.san_list.item(i) for i in range(self.san_list.count()))
            if item is not None and item.text().strip()
        )
        return RequestSpec(
            Subject(
                common_name=self.cn.text(),
                organization=self.org.text(),
                organizational_unit=self.ou.text(),
                locality=self.locality.text(),
                state=self.state.text(),
                country=self.country_code(),
                email=self.email.text(),
            ),
            sans,
            KeyType(self.key_type.currentData()),
            include_bare_domain=self.bare.isChecked(),
        )

    def field_errors(self) -> list[FieldError]:
        return validate(self.spec())

    def _edited(self, field: str) -> None:
        self.touched.add(field)
        self._refresh_errors()

    def _refresh_errors(self) -> None:
        by_field: dict[str, list[str]] = {}
        for e in self.field_errors():
            by_field.setdefault(e.field, []).append(e.message)
        for field, label in self.errors.items():
            text = "\n".join(by_field.get(field, []))
            if text and (field in self.touched or field != "common_name"):
                label.show_message("error", text)
            else:
                label.clear_message()
        problem = self.key_origin.problem()
        wildcard_on_device = self.key_origin.on_device.isChecked() and self.cn.text().startswith(
            "*."
        )
        if problem:
            self.message.show_message("info", problem)
        elif wildcard_on_device:
            self.message.show_message(
                "warning",
                "A wildcard whose key is made by one SBC can only ever be used on that SBC: "
                "for a wildcard shared by several devices or OVOC, choose 'Made here'.",
            )
        elif self.message.property("kind") in ("info", "warning"):
            self.message.clear_message()
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return not self.field_errors() and not self.key_origin.problem()

    def _origin_changed(self, on_device: bool) -> None:
        # The device chooses its own key type (its INI's TLSPkeySize).
        self.key_type.setEnabled(not on_device)
        self._refresh_errors()

    def _show_idna(self) -> None:
        typed = self.san_input.text().replace(",", " ").split()
        listed = [
            item.text()
            for item in (self.san_list.item(i) for i in range(self.san_list.count()))
            if item is not None
        ]
        for label, names, with_names in (
            (self.cn_idna, [self.cn.text()], False),
            (self.san_input_idna, typed, len(typed) > 1),
            (self.san_idna, listed, True),
        ):
            text = idna_text(names, with_names=with_names)
            label.setText(text)
            label.setVisible(bool(text))

    def _cn_changed(self, text: str) -> None:
        self._show_idna()
        bare = bare_domain(text.strip())
        self.bare.setVisible(bare is not None)
        if bare:
            self.bare.setText(f"Also &include the bare domain {bare}")

    def _key_changed(self) -> None:
        self.key_note.setText(KeyType(self.key_type.currentData()).note)

    # --- the SAN list -------------------------------------------------------------------------

    def _add_item(self, name: str) -> None:
        item = QListWidgetItem(name)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        self.san_list.addItem(item)

    def add_san(self) -> None:
        names = [n for n in self.san_input.text().replace(",", " ").split() if n]
        for name in names:
            problem = san_error(name)
            if problem:
                self.errors["sans"].show_message("error", problem)
                return
        for name in names:
            self._add_item(name)
        self.san_input.clear()
        self._edited("sans")

    def remove_san(self) -> None:
        for item in self.san_list.selectedItems():
            self.san_list.takeItem(self.san_list.row(item))
        self._edited("sans")

    # --- leaving: the renewal is created (or updated) here -----------------------------------

    def unsaved(self) -> str | None:
        ws = self.session.workspace
        if not self.isComplete() and not self.touched:
            return None
        if ws is None and self.cn.text().strip():
            return "The names you entered are not saved yet."
        if ws is not None and flow.names_editable(ws.state.stage) and self._changed_from(ws):
            return "Your changes to the names are not saved yet."
        return None

    def _changed_from(self, ws: Workspace) -> bool:
        spec = self.spec()
        return bool(validate(spec)) or require_valid(spec) != ws.state.request

    def leave(self) -> bool:
        if flow.names_editable(self.session.stage):
            self.session.device_key = self.key_origin.choice()
        ws = self.session.workspace
        try:
            if ws is None:
                self.session.workspace = Workspace.create(self.spec())
            elif flow.names_editable(ws.state.stage) and self._changed_from(ws):
                ws.update_request(self.spec())
        except AccertError as exc:
            self.show_error(exc)
            return False
        return True
