"""The small interfaces the portal calls, one per capability, with typed results and errors.

An adapter implements one interface, declares an ``identifier`` (unique in the registry) and
a ``label``, reads its endpoint, credentials and timeout from a settings mapping, and says in
``check_config()`` what is missing. Network failures become :class:`ConnectorUnavailable`
(worth retrying later), refusals :class:`ConnectorRejected`, and answers that fail validation
:class:`ConnectorMalformedResponse`; the outbox decides about retries from ``retryable``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar


class ConnectorError(Exception):
    retryable: ClassVar[bool] = False


class ConnectorUnavailable(ConnectorError):
    """Timeout, refused connection, 5xx: the system may answer later."""

    retryable = True


class ConnectorRejected(ConnectorError):
    """The system refused the request (4xx): sending it again will not help."""

    status: int | None = None  # the HTTP status, when the refusal came over HTTP


class ConnectorMalformedResponse(ConnectorError):
    """The answer did not match the protocol; it is not used."""


class NotFound(ConnectorError):
    """The system does not know the subject asked about (e.g. a tax code)."""


class ConfigurationError(ConnectorError):
    pass


class Connector(abc.ABC):
    identifier: ClassVar[str]
    label: ClassVar[str]
    capability: ClassVar[str]
    required_settings: ClassVar[tuple[str, ...]] = ("base_url",)

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = dict(settings)
        self.timeout = float(self.settings.get("timeout", 5))

    def check_config(self) -> list[str]:
        """What is missing from the settings (empty when the adapter can run)."""
        return [
            f"{self.identifier}: missing setting {name!r}"
            for name in self.required_settings
            if not self.settings.get(name)
        ]


# -- company lookup (business register) --------------------------------------------------------


@dataclass(frozen=True)
class Address:
    street: str
    postcode: str | None
    municipality_istat: str


@dataclass(frozen=True)
class RegisteredUnit:
    name: str
    address: Address
    ateco_code: str | None


@dataclass(frozen=True)
class Representative:
    full_name: str
    tax_code: str
    role: str


@dataclass(frozen=True)
class Activity:
    ateco_code: str
    primary: bool


@dataclass(frozen=True)
class CompanyRecord:
    tax_code: str
    vat_number: str | None
    name: str
    legal_form: str | None
    rea_number: str | None
    pec: str | None
    registered_office: Address
    local_units: tuple[RegisteredUnit, ...]
    activities: tuple[Activity, ...]
    representatives: tuple[Representative, ...]
    source: str
    fetched_at: datetime

    def company_fields(self) -> dict[str, Any]:
        return {
            "tax_code": self.tax_code,
            "vat_number": self.vat_number,
            "name": self.name,
            "legal_form": self.legal_form,
            "rea_number": self.rea_number,
            "pec": self.pec,
            "office_street": self.registered_office.street,
            "office_postcode": self.registered_office.postcode,
            "office_municipality": self.registered_office.municipality_istat,
        }

    def as_dossier_data(self) -> dict[str, Any]:
        """The shape ``portale.dossier.services.create_company`` accepts."""
        return {
            **self.company_fields(),
            "local_units": [
                {
                    "name": u.name,
                    "street": u.address.street,
                    "postcode": u.address.postcode,
                    "municipality": u.address.municipality_istat,
                    "ateco_code": u.ateco_code,
                }
                for u in self.local_units
            ],
            "activities": [
                {"ateco_code": a.ateco_code, "primary": a.primary} for a in self.activities
            ],
            "representatives": [
                {"full_name": r.full_name, "tax_code": r.tax_code, "role": r.role}
                for r in self.representatives
            ],
        }


class CompanyLookup(Connector):
    capability = "company_lookup"

    @abc.abstractmethod
    def fetch_company(self, tax_code: str) -> CompanyRecord:
        """The company as the register knows it; :class:`NotFound` if it does not."""


# -- VAT check (VIES) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VatCheckResult:
    country: str
    number: str
    valid: bool
    name: str | None
    address: str | None
    request_date: datetime
    consultation_number: str | None = None


class VatCheck(Connector):
    capability = "vat_check"

    @abc.abstractmethod
    def check_vat(self, country: str, number: str) -> VatCheckResult:
        """Whether the EU VAT register knows ``number`` as valid today."""


# -- contribution regularity (DURC) ----------------------------------------------------------


@dataclass(frozen=True)
class DurcResult:
    tax_code: str
    regular: bool
    issued_on: date
    valid_until: date
    protocol: str


class ContributionRegularity(Connector):
    capability = "contribution_regularity"

    @abc.abstractmethod
    def check(self, tax_code: str) -> DurcResult:
        """The company's contribution regularity certificate (DURC) in force."""


# -- municipal protocol ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProtocolReceipt:
    number: str
    year: int
    registered_at: datetime


class ProtocolRegistry(Connector):
    capability = "protocol"

    @abc.abstractmethod
    def register(
        self,
        *,
        office_code: str,
        subject: str,
        direction: str,
        correspondent: str,
        documents: list[dict[str, Any]],
        idempotency_key: str,
    ) -> ProtocolReceipt:
        """Register a document in the municipality's protocol system; idempotent per key."""


# -- dispatch to an authority ------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchReceipt:
    accepted: bool
    reference: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class AuthorityDispatch(Connector):
    capability = "authority_dispatch"

    @abc.abstractmethod
    def send_instance(self, instance: dict[str, Any], *, idempotency_key: str) -> DispatchReceipt:
        """Send a procedure (SSU instance descriptor and documents) to an authority."""

    @abc.abstractmethod
    def notify(
        self, cui: dict[str, Any], event: dict[str, Any], *, idempotency_key: str
    ) -> DispatchReceipt:
        """Tell an authority about an event of a procedure it is involved in."""


# -- payments (pagoPA directly, or a regional intermediary such as PiemontePAY) ----------------
#
# Four verbs: open a debt position, start a checkout session, read its state (and receipts),
# cancel it. An intermediary offers the same four, so its adapter sits beside the GPD one.
# Amounts are euro cents; a notice number (NAV) is the 18-digit code a person pays with.

POSITION_PUBLISHED = "published"  # payable (GPD: PUBLISHED / VALID)
POSITION_PAID = "paid"  # GPD: PAID / PARTIALLY_PAID / REPORTED
POSITION_EXPIRED = "expired"
POSITION_CANCELLED = "cancelled"  # GPD: INVALID
POSITION_DRAFTED = "drafted"  # GPD: DRAFT, not yet payable


@dataclass(frozen=True)
class Creditor:
    """The administration paid: its tax code, name, IBAN; its own API key if it has one."""

    tax_code: str
    name: str
    iban: str
    office_name: str = ""
    api_key: str | None = None
    stamp_province: str = "TO"


@dataclass(frozen=True)
class Debtor:
    tax_code: str
    name: str
    email: str | None = None
    legal_person: bool = True


@dataclass(frozen=True)
class PaymentTransfer:
    """One share of a position: to the creditor's IBAN, or a digital stamp duty (never both)."""

    amount_cents: int
    description: str
    category: str
    stamp_document_hash: str | None = None  # SHA-256 of the stamped document, base64

    @property
    def is_stamp(self) -> bool:
        return self.stamp_document_hash is not None


@dataclass(frozen=True)
class PositionRequest:
    position_id: str  # IUPD: unique per creditor, chosen by the portal
    iuv: str  # creditor reference (IUV), 17 digits, chosen by the portal
    description: str
    due_at: datetime
    debtor: Debtor
    transfers: tuple[PaymentTransfer, ...]

    @property
    def amount_cents(self) -> int:
        return sum(t.amount_cents for t in self.transfers)


@dataclass(frozen=True)
class OpenedPosition:
    position_id: str
    iuv: str
    notice_number: str
    amount_cents: int
    due_at: datetime
    status: str


@dataclass(frozen=True)
class PaymentReceipt:
    receipt_id: str  # the PSP's receipt identifier
    iuv: str
    notice_number: str
    amount_cents: int
    paid_at: datetime
    psp_name: str
    payer_tax_code: str | None = None
    payer_name: str | None = None
    method: str | None = None
    stamp_ids: tuple[str, ...] = ()  # identifiers of the digital stamps (IUBD) bought


@dataclass(frozen=True)
class PositionState:
    position_id: str
    status: str  # one of the POSITION_* values
    receipts: tuple[PaymentReceipt, ...] = ()


@dataclass(frozen=True)
class CheckoutNotice:
    notice_number: str
    amount_cents: int
    description: str


@dataclass(frozen=True)
class CheckoutReturn:
    ok_url: str
    cancel_url: str
    error_url: str
    waiting_url: str


@dataclass(frozen=True)
class CheckoutSession:
    redirect_url: str


class PaymentGateway(Connector):
    capability = "payments"

    @abc.abstractmethod
    def open_position(
        self, creditor: Creditor, request: PositionRequest, *, idempotency_key: str
    ) -> OpenedPosition:
        """Create and publish a debt position; the same ``position_id`` again answers with the
        position already open, never a second one."""

    @abc.abstractmethod
    def start_checkout(
        self,
        creditor: Creditor,
        notices: tuple[CheckoutNotice, ...],
        returns: CheckoutReturn,
        *,
        email: str | None = None,
        cart_id: str | None = None,
    ) -> CheckoutSession:
        """A checkout session for 1-5 notices; the payer is sent to ``redirect_url``."""

    @abc.abstractmethod
    def read_position(self, creditor: Creditor, position_id: str, iuv: str) -> PositionState:
        """The position's state and, once paid, its receipts."""

    @abc.abstractmethod
    def cancel_position(self, creditor: Creditor, position_id: str) -> PositionState:
        """Make an unpaid position no longer payable (GPD: invalidate)."""
