"""A fake pagoPA on loopback: GPD, GPD receipts, Checkout (with its page) and @e.bollo.

It serves the paths of ``shared/specs/pagopa`` under the same prefixes as pagoPA's API host,
checks ``Ocp-Apim-Subscription-Key``, and keeps positions, carts and receipts in memory. The
checkout page lets the tester choose "Paga", "Annulla" or "Errore"; :meth:`FakePagoPa.pay`
pays a notice as a payment at any channel would (a tobacconist, home banking). Every exchange
is kept in :attr:`FakePagoPa.exchanges` so tests can validate both sides against the OpenAPI
documents. ``behaviour.mode`` is ``ok``, ``down`` (503), ``error`` (500), ``slow`` or
``malformed`` like the other fakes.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from connectors.fakes.services import Behaviour
from connectors.pagopa import CHECKOUT_PATH, GPD_PATH, MBD_PATH, RECEIPTS_PATH

CHECKOUT_PAGE = "/checkout/pagamento"


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


def _problem(status: int, title: str, detail: str = "") -> Response:
    return _json({"title": title, "status": status, "detail": detail or title}, status)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _euro(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@dataclass(frozen=True)
class Exchange:
    """One request and the answer the fake gave, for validation against the specs."""

    api: str  # gpd, receipts, checkout, mbd, page
    method: str
    path: str  # below the API's prefix
    query: str
    headers: dict[str, str]
    body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    response_type: str
    injected: bool = False  # a failure mode answered (down, error, malformed): off-spec on purpose


class FakePagoPa:
    def __init__(self, api_keys: tuple[str, ...] = ("fake-pagopa-key",)) -> None:
        self.api_keys = set(api_keys)
        self.behaviour = Behaviour()
        self.base_url = ""
        self.positions: dict[tuple[str, str], dict[str, Any]] = {}  # (creditor, iupd)
        self.by_nav: dict[str, tuple[str, str]] = {}
        self.receipts: dict[tuple[str, str], list[str]] = {}  # (creditor, iuv) -> RT XML
        self.carts: dict[str, dict[str, Any]] = {}
        self.stamps: dict[str, dict[str, Any]] = {}  # mbd nav -> request and receipts
        self.exchanges: list[Exchange] = []
        self.creates = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget every position, cart and receipt (tests reuse position ids after rollback)."""
        with self._lock:
            self.positions.clear()
            self.by_nav.clear()
            self.receipts.clear()
            self.carts.clear()
            self.stamps.clear()
            self.exchanges.clear()
            self.creates = 0
            self.behaviour.mode = "ok"

    # -- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data()
        api, path = self._split(request.path)
        injected = False
        if api == "page":
            response = self.page(request, path)
        else:
            failed = self.behaviour.fail()
            injected = failed is not None or self.behaviour.mode == "malformed"
            response = failed or self.handle(api, request, path)
        self.exchanges.append(
            Exchange(
                api=api,
                method=request.method,
                path=path,
                query=request.query_string.decode(),
                headers=dict(request.headers),
                body=body,
                status=response.status_code,
                response_headers=dict(response.headers),
                response_body=response.get_data(),
                response_type=response.mimetype or "",
                injected=injected,
            )
        )
        return response(environ, start_response)

    @staticmethod
    def _split(full: str) -> tuple[str, str]:
        for api, prefix in (
            ("gpd", GPD_PATH),
            ("receipts", RECEIPTS_PATH),
            ("checkout", CHECKOUT_PATH),
            ("mbd", MBD_PATH),
            ("page", CHECKOUT_PAGE),
        ):
            if full.startswith(prefix + "/") or full == prefix:
                return api, full[len(prefix) :] or "/"
        return "unknown", full

    def handle(self, api: str, request: Request, path: str) -> Response:
        if request.headers.get("Ocp-Apim-Subscription-Key") not in self.api_keys:
            return Response(status=401)
        parts = [p for p in path.split("/") if p]
        with self._lock:
            if api == "gpd":
                return self._gpd(request, parts)
            if api == "receipts":
                return self._receipts(request, parts)
            if api == "checkout" and parts == ["carts"] and request.method == "POST":
                return self._cart(request)
            if api == "mbd":
                return self._mbd(request, parts)
        return _problem(404, "Not Found")

    # -- GPD -------------------------------------------------------------------------------

    def _gpd(self, request: Request, parts: list[str]) -> Response:
        if len(parts) < 3 or parts[0] != "organizations" or parts[2] != "debtpositions":
            return _problem(404, "Not Found")
        creditor = parts[1]
        if len(parts) == 3 and request.method == "POST":
            return self._create(creditor, request)
        if len(parts) < 4:
            return _problem(404, "Not Found")
        position = self.positions.get((creditor, parts[3]))
        if position is None:
            return _problem(404, "Not found", "debt position not found")
        if len(parts) == 4 and request.method == "GET":
            return self._position_answer(position, full=True)
        if len(parts) == 5 and parts[4] == "publish" and request.method == "POST":
            if position["status"] != "DRAFT":
                return _problem(409, "Conflict", "position already published")
            position["status"] = "VALID"
            position["publishDate"] = _now()
            return self._position_answer(position)
        if len(parts) == 5 and parts[4] == "invalidate" and request.method == "POST":
            if position["status"] not in ("VALID", "PUBLISHED"):
                return _problem(409, "Conflict", f"position is {position['status']}")
            position["status"] = "INVALID"
            return self._position_answer(position)
        return _problem(404, "Not Found")

    def _create(self, creditor: str, request: Request) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not body.get("iupd") or not body.get("paymentOption"):
            return _problem(400, "Bad Request", "iupd and paymentOption are required")
        for option in body["paymentOption"]:
            for transfer in option.get("transfer", []):
                if ("iban" in transfer) == ("stamp" in transfer):
                    return _problem(400, "Bad Request", "a transfer has an iban or a stamp")
            if sum(t["amount"] for t in option.get("transfer", [])) != option.get("amount"):
                return _problem(400, "Bad Request", "transfers do not add up to the amount")
        key = (creditor, body["iupd"])
        if key in self.positions:
            return _problem(409, "Conflict", "duplicate debt position")
        self.creates += 1
        publish = request.args.get("toPublish") == "true"
        position = {
            **body,
            "status": "VALID" if publish else "DRAFT",
            "insertedDate": _now(),
            "organizationFiscalCode": creditor,
        }
        for option in position["paymentOption"]:
            option["nav"] = f"3{option['iuv']}"
            self.by_nav[option["nav"]] = key
        self.positions[key] = position
        return self._position_answer(position, status=201)

    def _position_answer(
        self, position: dict[str, Any], *, status: int = 200, full: bool = False
    ) -> Response:
        if self.behaviour.mode == "malformed":
            return _json({"iupd": position["iupd"], "status": "FORSE"}, status)
        if full:  # PaymentPositionModelBaseResponse
            answer = {
                k: position[k]
                for k in ("iupd", "organizationFiscalCode", "type", "companyName", "status")
                if k in position
            }
            answer["insertedDate"] = position["insertedDate"]
            if position.get("paymentDate"):
                answer["paymentDate"] = position["paymentDate"]
            answer["paymentOption"] = [
                {
                    "nav": o["nav"],
                    "iuv": o["iuv"],
                    "amount": o["amount"],
                    "description": o["description"],
                    "isPartialPayment": o["isPartialPayment"],
                    "dueDate": o["dueDate"],
                    "status": "PO_PAID" if position["status"] == "PAID" else "PO_UNPAID",
                    "transfer": [
                        {
                            k: t[k]
                            for k in ("idTransfer", "amount", "remittanceInformation", "category")
                        }
                        | ({"iban": t["iban"]} if "iban" in t else {"stamp": t["stamp"]})
                        for t in o.get("transfer", [])
                    ],
                }
                for o in position["paymentOption"]
            ]
            return _json(answer, status)
        # PaymentPositionModel: what was sent, with the notice numbers
        return _json({k: v for k, v in position.items() if k != "insertedDate"}, status)

    # -- receipts ----------------------------------------------------------------------------

    def _receipts(self, request: Request, parts: list[str]) -> Response:
        if len(parts) == 4 and parts[0] == "payments" and parts[2] == "receipts":
            found = self.receipts.get((parts[1], parts[3]))
            if not found:
                return _problem(404, "Not found", "no receipt")
            if self.behaviour.mode == "malformed":
                return Response("<receipt><outcome>KO", mimetype="application/xml")
            return Response(found[-1], mimetype="application/xml")
        return _problem(404, "Not Found")

    # -- Checkout ------------------------------------------------------------------------------

    def _cart(self, request: Request) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not body.get("paymentNotices"):
            return _problem(400, "Formally invalid input")
        for notice in body["paymentNotices"]:
            if notice.get("noticeNumber") not in self.by_nav:
                return _problem(400, "Formally invalid input", "unknown notice number")
        cart_id = secrets.token_urlsafe(12)
        self.carts[cart_id] = body
        if self.behaviour.mode == "malformed":
            return Response(status=302)
        return Response(
            status=302, headers={"Location": f"{self.base_url}{CHECKOUT_PAGE}/{cart_id}"}
        )

    def page(self, request: Request, path: str) -> Response:
        """The checkout a payer sees: the notices and three buttons."""
        cart_id = path.strip("/")
        cart = self.carts.get(cart_id)
        if cart is None:
            return Response("Carrello sconosciuto", status=404)
        urls = cart["returnUrls"]
        if request.method == "POST":
            outcome = request.form.get("esito")
            if outcome == "paga":
                for notice in cart["paymentNotices"]:
                    self.pay(notice["noticeNumber"], psp="Banca Fittizia S.p.A.", method="CP")
                return Response(status=303, headers={"Location": urls["returnOkUrl"]})
            if outcome == "annulla":
                return Response(status=303, headers={"Location": urls["returnCancelUrl"]})
            return Response(status=303, headers={"Location": urls["returnErrorUrl"]})
        rows = "".join(
            f"<tr><td>{html.escape(n['description'])}</td><td>{html.escape(n['companyName'])}</td>"
            f"<td><code>{n['noticeNumber']}</code></td><td>€ {_euro(n['amount'])}</td></tr>"
            for n in cart["paymentNotices"]
        )
        total = _euro(sum(n["amount"] for n in cart["paymentNotices"]))
        page = f"""<!doctype html><html lang="it"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>pagoPA - Checkout (finto)</title>
<style>body{{font-family:sans-serif;margin:0;color:#17324d}}header{{background:#0066cc;color:#fff;padding:1rem}}
main{{padding:1rem;max-width:40rem;margin:auto}}table{{width:100%;border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}}
button{{font-size:1rem;padding:.7rem 1.2rem;margin:.3rem .3rem 0 0;border-radius:4px;border:2px solid #0066cc;background:#fff;color:#0066cc}}
button.primary{{background:#0066cc;color:#fff}}.note{{font-size:.85rem;color:#5c6f82}}</style></head>
<body><header><strong>pagoPA</strong> · Checkout <span class="note" style="color:#cfe">(ambiente di prova)</span></header>
<main><h1>Riepilogo del pagamento</h1>
<table><thead><tr><th>Oggetto</th><th>Ente</th><th>Codice avviso</th><th>Importo</th></tr></thead><tbody>{rows}</tbody></table>
<p><strong>Totale: € {total}</strong></p>
<form method="post"><button class="primary" name="esito" value="paga">Paga</button>
<button name="esito" value="annulla">Annulla</button><button name="esito" value="errore">Errore</button></form>
<p class="note">Questo è il checkout finto del portale: nessun addebito reale.</p></main></body></html>"""
        return Response(page, mimetype="text/html")

    # -- @e.bollo --------------------------------------------------------------------------

    def _mbd(self, request: Request, parts: list[str]) -> Response:
        if len(parts) == 3 and parts[0] == "organizations" and parts[2] == "mbd":
            body = request.get_json(silent=True)
            if not isinstance(body, dict) or not body.get("paymentNotices"):
                return _problem(400, "Bad Request")
            nav = "3" + "".join(secrets.choice("0123456789") for _ in range(17))
            self.stamps[nav] = {"request": body, "creditor": parts[1], "receipts": []}
            return _json(
                {
                    "checkoutRedirectUrl": f"{self.base_url}{CHECKOUT_PAGE}/mbd-{nav}",
                    "navDownloadLink": f"{self.base_url}/avvisi/{nav}.pdf",
                    "mbdNav": nav,
                }
            )
        if len(parts) == 4 and parts[0] == "organizations" and parts[2] == "receipt":
            stamp = self.stamps.get(parts[3])
            if stamp is None or not stamp["receipts"]:
                return _problem(404, "Not Found", "no receipt")
            return _json({"content": [base64.b64encode(r).decode() for r in stamp["receipts"]]})
        return _problem(404, "Not Found")

    def pay_stamp(self, nav: str) -> str:
        """Pay a digital stamp notice; returns the stamp's identifier (IUBD)."""
        stamp = self.stamps[nav]
        iubd = "".join(secrets.choice("0123456789") for _ in range(14))
        notice = stamp["request"]["paymentNotices"][0]
        stamp["receipts"].append(_mbd_document(iubd, notice.get("documentHash", "")))
        return iubd

    # -- what a payer does outside the portal ------------------------------------------------

    def pay(
        self,
        nav: str,
        *,
        psp: str = "Tabaccheria Fittizia",
        method: str = "PO",
        again: bool = False,
    ) -> str:
        """Pay a notice as any pagoPA channel would; returns the PSP's receipt id.

        ``again`` pays a notice already paid (the twin payment a PSP may let through when two
        channels take the same notice at once), producing a second receipt.
        """
        key = self.by_nav[nav]
        position = self.positions[key]
        if position["status"] == "PAID" and not again:
            raise ValueError("already paid")
        option = next(o for o in position["paymentOption"] if o["nav"] == nav)
        receipt_id = secrets.token_hex(16)
        paid_at = _now()
        position["status"] = "PAID"
        position["paymentDate"] = paid_at
        self.receipts.setdefault((key[0], option["iuv"]), []).append(
            _receipt_xml(position, option, receipt_id, paid_at, psp, method)
        )
        return receipt_id

    def expire(self, nav: str) -> None:
        self.positions[self.by_nav[nav]]["status"] = "EXPIRED"

    def position_for(self, nav: str) -> dict[str, Any]:
        return self.positions[self.by_nav[nav]]


def _mbd_document(iubd: str, document_hash: str) -> bytes:
    return (
        "<marcaDaBollo><PSP><CodiceFiscale>00000000000</CodiceFiscale></PSP>"
        f"<IUBD>{iubd}</IUBD><OraAcquisto>{_now()}</OraAcquisto><Importo>16.00</Importo>"
        f"<TipoBollo>01</TipoBollo><ImprontaDocumento><DigestValue>{document_hash}</DigestValue>"
        "</ImprontaDocumento></marcaDaBollo>"
    ).encode()


def _receipt_xml(
    position: dict[str, Any],
    option: dict[str, Any],
    receipt_id: str,
    paid_at: str,
    psp: str,
    method: str,
) -> str:
    transfers = []
    for t in option.get("transfer", []):
        if "stamp" in t:
            iubd = "".join(secrets.choice("0123456789") for _ in range(14))
            target = (
                "<MBDAttachment>"
                + base64.b64encode(_mbd_document(iubd, t["stamp"]["hashDocument"])).decode()
                + "</MBDAttachment>"
            )
        else:
            target = f"<IBAN>{t['iban']}</IBAN>"
        transfers.append(
            f"<transfer><idTransfer>{t['idTransfer']}</idTransfer>"
            f"<transferAmount>{_euro(t['amount'])}</transferAmount>"
            f"<fiscalCodePA>{position['organizationFiscalCode']}</fiscalCodePA>{target}"
            f"<remittanceInformation>{html.escape(t['remittanceInformation'])}</remittanceInformation>"
            f"<transferCategory>{html.escape(t['category'])}</transferCategory></transfer>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><paSendRTV2Request><receipt>'
        f"<receiptId>{receipt_id}</receiptId><noticeNumber>{option['nav']}</noticeNumber>"
        f"<fiscalCode>{position['organizationFiscalCode']}</fiscalCode><outcome>OK</outcome>"
        f"<creditorReferenceId>{option['iuv']}</creditorReferenceId>"
        f"<paymentAmount>{_euro(option['amount'])}</paymentAmount>"
        f"<description>{html.escape(option['description'])}</description>"
        f"<companyName>{html.escape(position['companyName'])}</companyName>"
        "<debtor><uniqueIdentifier>"
        f"<entityUniqueIdentifierType>{position['type']}</entityUniqueIdentifierType>"
        f"<entityUniqueIdentifierValue>{position['fiscalCode']}</entityUniqueIdentifierValue>"
        f"</uniqueIdentifier><fullName>{html.escape(position['fullName'])}</fullName></debtor>"
        f"<transferList>{''.join(transfers)}</transferList>"
        f"<idPSP>FAKEPSP01</idPSP><pspCompanyName>{html.escape(psp)}</pspCompanyName>"
        f"<paymentMethod>{method}</paymentMethod><paymentDateTime>{paid_at}</paymentDateTime>"
        "</receipt></paSendRTV2Request>"
    )
