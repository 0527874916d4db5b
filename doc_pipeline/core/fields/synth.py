"""Synthetic labelled documents (receipts, invoices, pay stubs, bank statements) for training the field model
and for tests. Deterministic for a given seed; every value's span in the text is known, and ``to_page`` lays the
lines out as words with boxes like an OCR/text layer would."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from doc_pipeline.core.models import Page, PageKind, Word

_COMPANIES = ["Acme Trading Sdn Bhd", "Blue River Supplies Ltd", "Northwind Foods Inc", "Kedai Runcit Ah Seng",
              "Golden Spoon Restaurant", "Contoso Hardware LLC", "Maple Leaf Stationery", "Sunrise Bakery Co.",
              "Fabrikam Office GmbH", "Orchid Florist Sdn Bhd", "Pioneer Auto Parts", "Harbor Fresh Market"]
_PEOPLE = ["John Smith", "Maria Garcia", "Lee Wei Ming", "Aisha Rahman", "Peter Novak", "Emma Johnson",
           "Carlos Silva", "Nur Aina Binti Ali", "David Brown", "Sophie Martin"]
_STREETS = ["12 Jalan Besar", "45 High Street", "7 Market Road", "No. 3, Jalan SS2/24", "221 Baker Street",
            "88 Orchard Avenue", "Lot 5, Jalan Industri 3", "19 Rue de la Paix"]
_CITIES = ["50000 Kuala Lumpur", "London SW1A 1AA", "47400 Petaling Jaya, Selangor", "Springfield, IL 62704",
           "75002 Paris", "10115 Berlin", "Austin, TX 78701"]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_IBANS = ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606",
          "NL91ABNA0417164300", "ES9121000418450200051332"]


@dataclass
class SynthDoc:
    doc_type: str
    lines: list[str] = field(default_factory=list)
    spans: list[tuple[int, int, int, str]] = field(default_factory=list)  # (line, start, end, LABEL)
    values: dict[str, str] = field(default_factory=dict)

    def add(self, text: str, label: str | None = None, value: str | None = None, prefix: str = "") -> None:
        """Append a line ``prefix + value`` and mark ``value`` as ``label``."""
        line = prefix + (value if value is not None else "")
        if label and value:
            self.spans.append((len(self.lines), len(prefix), len(prefix) + len(value), label))
            self.values.setdefault(label.lower(), value)
        self.lines.append(line if value is not None else text)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def example(self) -> dict:
        """{"text", "entities": [[start, end, LABEL]]} over the whole text."""
        offs, pos = [], 0
        for ln in self.lines:
            offs.append(pos)
            pos += len(ln) + 1
        return {"text": self.text, "entities": [[offs[i] + s, offs[i] + e, lab] for i, s, e, lab in self.spans]}

    def to_page(self, width: float = 595.0, char_w: float = 6.0, line_h: float = 14.0, conf: float = 0.97,
                right_column: dict[int, float] | None = None) -> Page:
        """The lines as words with boxes (top-left origin, points); one line per row."""
        words = []
        for i, ln in enumerate(self.lines):
            x = 40.0
            y = 40.0 + i * line_h
            for tok in ln.split(" "):
                if tok:
                    words.append(Word(text=tok, bbox=(x, y, x + char_w * len(tok), y + 10.0), conf=conf, line=i))
                x += char_w * (len(tok) + 1)
        height = max(842.0, 80 + len(self.lines) * line_h)
        return Page(page_no=1, kind=PageKind.scanned, width=width, height=height, words=words,
                    text="\n".join(self.lines))


def _date(r: random.Random) -> str:
    d, m, y = r.randint(1, 28), r.randint(1, 12), r.randint(2015, 2024)
    return r.choice([f"{d:02d}/{m:02d}/{y}", f"{d} {_MONTHS[m - 1]} {y}", f"{y}-{m:02d}-{d:02d}",
                     f"{_MONTHS[m - 1]} {d}, {y}"])


def _amt(r: random.Random, lo: float = 1, hi: float = 500) -> str:
    v = round(r.uniform(lo, hi), 2)
    return f"{v:,.2f}"


def receipt(r: random.Random) -> SynthDoc:
    d = SynthDoc("receipt")
    d.add("", "COMPANY", r.choice(_COMPANIES).upper())
    d.add("", "ADDRESS", f"{r.choice(_STREETS)}, {r.choice(_CITIES)}".upper())
    d.add(f"TEL: 03-{r.randint(1000, 9999)} {r.randint(1000, 9999)}")
    d.add("", "DATE", _date(r), prefix=r.choice(["DATE: ", "Date : ", ""]))
    for _ in range(r.randint(1, 4)):
        d.add(f"{r.choice(['BREAD', 'MILK', 'PEN', 'COFFEE', 'RICE', 'TAPE'])} {r.randint(1, 3)} {_amt(r, 1, 30)}")
    d.add(f"SUBTOTAL {_amt(r)}")
    d.add("", "TOTAL", _amt(r), prefix=r.choice(["TOTAL: ", "TOTAL RM ", "Grand Total ", "Total Amount: "]))
    d.add(f"CASH {_amt(r)}")
    d.add("THANK YOU, PLEASE COME AGAIN")
    return d


def invoice(r: random.Random) -> SynthDoc:
    d = SynthDoc("invoice")
    d.add("", "ISSUER", r.choice(_COMPANIES))
    d.add(f"{r.choice(_STREETS)}, {r.choice(_CITIES)}")
    d.add("INVOICE")
    d.add("", "INVOICE_NUMBER", f"INV-{r.randint(1000, 99999)}", prefix=r.choice(["Invoice No: ", "Invoice #",
                                                                                    "Invoice Number: "]))
    d.add("", "DATE", _date(r), prefix="Invoice Date: ")
    d.add(f"Due Date: {_date(r)}")
    d.add(f"Bill To: {r.choice(_PEOPLE)}")
    for _ in range(r.randint(1, 3)):
        d.add(f"Consulting services {r.randint(1, 10)} {_amt(r, 10, 200)}")
    d.add(f"Subtotal {_amt(r, 100, 1000)}")
    cur = r.choice(["EUR", "USD", "GBP"])
    d.add("", "TOTAL", f"{_amt(r, 100, 5000)} {cur}", prefix="Total Due: ")
    d.add("", "IBAN", r.choice(_IBANS), prefix="IBAN: ")
    return d


def pay_stub(r: random.Random) -> SynthDoc:
    d = SynthDoc("pay_stub")
    d.add("EARNINGS STATEMENT / PAY STUB")
    d.add("", "EMPLOYER", r.choice(_COMPANIES), prefix="Employer: ")
    d.add("", "EMPLOYEE", r.choice(_PEOPLE), prefix="Employee: ")
    d.add("", "PAY_PERIOD", f"{_date(r)} - {_date(r)}", prefix="Pay Period: ")
    d.add("", "GROSS_PAY", f"${_amt(r, 1000, 9000)}", prefix="Gross Pay ")
    d.add(f"Federal Income Tax ${_amt(r, 100, 900)}")
    d.add(f"Deductions ${_amt(r, 10, 300)}")
    d.add("", "NET_PAY", f"${_amt(r, 800, 7000)}", prefix="Net Pay ")
    return d


def bank_statement(r: random.Random) -> SynthDoc:
    d = SynthDoc("bank_statement")
    d.add("ACCOUNT STATEMENT")
    d.add("", "ACCOUNT_HOLDER", r.choice(_PEOPLE), prefix="Account Holder: ")
    d.add("", "ACCOUNT_NUMBER", f"{r.randint(10000000, 99999999)}{r.randint(10, 99)}", prefix="Account Number: ")
    d.add("", "IBAN", r.choice(_IBANS), prefix="IBAN: ")
    d.add("", "STATEMENT_PERIOD", f"{_date(r)} to {_date(r)}", prefix="Statement Period: ")
    d.add("", "OPENING_BALANCE", _amt(r, 100, 9000), prefix="Opening Balance ")
    for _ in range(r.randint(1, 3)):
        d.add(f"{_date(r)} Card payment {_amt(r, 1, 300)}")
    d.add("", "CLOSING_BALANCE", _amt(r, 100, 9000), prefix="Closing Balance ")
    return d


GENERATORS = {"receipt": receipt, "invoice": invoice, "pay_stub": pay_stub, "bank_statement": bank_statement}


def generate(n: int, seed: int = 0, kinds: tuple[str, ...] = tuple(GENERATORS)) -> list[SynthDoc]:
    r = random.Random(seed)
    return [GENERATORS[kinds[i % len(kinds)]](r) for i in range(n)]
