"""The sample agencies of ``sisi up --demo``: each synthesises its next delivery and sends it.

Delivery K of an agency is ``sisi synth padron --delivery K --recent`` (the base roll, then
realistic churn) written to ``<data>/demo/<agreement>/entrega-K.<ext>``, then ``sisi produce
--wait`` with the payment month of its dates. ``--recent`` dates the delivery's new altas and
payments in the days before it is sent, within the agreement's ``delivery.max_lag_hours``, which
is what compliance measures: an honest agency's deliveries are on time.

The demo picks up where it stopped. After each delivery the agency's ``estado.json`` records its
number and size; the next run starts at the next number against the same registry and the same
agency snapshot (``var/producer``). A delivery that did not reach the agency's snapshot (stopped,
failed) is made again. The registry, the snapshots and these files are removed together by
``sisi up --reset``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.agreements import Agreement
from hub.cli.children import child_options
from hub.db import make_engine

__all__ = [
    "DemoAgency",
    "delivery_summary",
    "demo_loop",
    "last_delivery",
    "payment_month",
    "run_until",
]

Echo = Callable[[str], None]

STATE_FILE = "estado.json"
_LAYOUT_SUFFIX = {"csv": ".csv", "tsv": ".tsv", "pipe": ".txt", "xlsx": ".xlsx"}
_DELIVERY_FILE = re.compile(r"^entrega-(\d{3,})\.(?:csv|tsv|txt|xlsx)$")
#: After a child ended badly, how long to wait for the stop that may have caused it.
_STOP_GRACE = 1.0


def _sisi(*args: str) -> list[str]:
    """The command line that runs ``sisi`` with this interpreter (no PATH assumptions)."""
    return [sys.executable, "-m", "hub.cli", *args]


def payment_month(agreement: Agreement, today: date | None = None) -> str:
    """``AAAA-MM`` that a delivery made today pays: the month of its payment dates.

    ``sisi synth padron --recent`` dates payments up to yesterday, within yesterday's month (up
    to today when the agreement allows less than two days of lag); ``sisi produce --period``
    sends as payments of a month only the rows paid in it, and each row once per month.
    """
    today = today or date.today()
    last = today if agreement.delivery.max_lag_hours < 48 else today - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def last_delivery(workdir: Path, producer_state: Path) -> tuple[int, int | None]:
    """(last delivery the agency's snapshot holds, its padrón size when known).

    ``estado.json`` says it; a directory from before it existed is read from its file names
    (the highest ``entrega-K``). Without the agency's snapshot (``producer_state``) nothing was
    delivered, whatever files are left.
    """
    if not producer_state.exists():
        return 0, None
    try:
        state = json.loads((workdir / STATE_FILE).read_text(encoding="utf-8"))
        delivered, people = state["entrega"], state.get("personas")
        if isinstance(delivered, int) and delivered >= 0:
            return delivered, people if isinstance(people, int) and people > 0 else None
    except (OSError, ValueError, KeyError, TypeError):
        pass
    numbers = [
        int(match[1])
        for path in (workdir.iterdir() if workdir.is_dir() else ())
        if (match := _DELIVERY_FILE.match(path.name))
    ]
    return max(numbers, default=0), None


@dataclass
class DemoAgency:
    """One sample agency: synthesises its next delivery and hands it to ``sisi produce``."""

    agreement: Agreement
    workdir: Path
    people: int
    #: the last delivery its snapshot holds (0: none yet)
    delivered: int = 0
    seed: int = 2026

    @property
    def agreement_id(self) -> str:
        return self.agreement.id

    @property
    def next_delivery(self) -> int:
        return self.delivered + 1

    def path(self, delivery: int) -> Path:
        suffix = _LAYOUT_SUFFIX[self.agreement.layout.format]
        return self.workdir / f"entrega-{delivery:03d}{suffix}"

    def deliver(self, env: Mapping[str, str], stop: threading.Event) -> str:
        """Make and send the next delivery; a one-line summary (Spanish)."""
        delivery = self.next_delivery
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.path(delivery)
        synth = _sisi(
            "synth", "padron", "--agreement", self.agreement_id, "--people", str(self.people),
            "--seed", str(self.seed), "--delivery", str(delivery), "--out", str(path),
            "--error-rate", "0.01", "--recent",
        )  # fmt: skip
        code, _out, err = run_until(synth, env, stop)
        if code is None:
            return f"{self.agreement_id}: entrega {delivery} detenida antes de enviarse"
        if code != 0:
            return f"{self.agreement_id}: no se pudo generar la entrega {delivery}: {_short(err)}"
        produce = _sisi(
            "produce", "--agreement", self.agreement_id, "--input", str(path), "--wait",
            "--timeout", "120", "--period", payment_month(self.agreement), "--json",
        )  # fmt: skip
        code, out, err = run_until(produce, env, stop)
        data = _summary_json(out)
        if data is not None:  # the agency's snapshot now holds this delivery
            self._record(delivery)
        if code is None:
            kept = " (lo enviado queda en su bandeja: sisi outbox status)" if data else ""
            return f"{self.agreement_id}: entrega {delivery} detenida{kept}"
        return f"{self.agreement_id}: entrega {delivery} → {delivery_summary(code, out, err)}"

    def _record(self, delivery: int) -> None:
        self.delivered = delivery
        state = {
            "convenio": self.agreement_id,
            "entrega": delivery,
            "personas": self.people,
            "archivo": self.path(delivery).name,
            "actualizado": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.workdir.mkdir(parents=True, exist_ok=True)
        target = self.workdir / STATE_FILE
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, ensure_ascii=False, indent=2), encoding="utf-8")
        temporary.replace(target)


def _short(text: str, limit: int = 400) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    flat = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    if not flat:
        return "sin detalle (vea la bitácora de arriba)"
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _summary_json(out: str) -> dict[str, Any] | None:
    """``sisi produce --json``'s summary when it got as far as the diff, else None."""
    try:
        data = json.loads(out)
    except ValueError:
        return None
    if not isinstance(data, dict) or "error" in data or "altas" not in data:
        return None
    return data


def delivery_summary(code: int, out: str, err: str) -> str:
    """What one ``sisi produce --json`` did, in one Spanish line (its stderr when it failed)."""
    data = _summary_json(out)
    if data is None:
        try:
            parsed = json.loads(out)
        except ValueError:
            parsed = None
        detail = parsed["error"] if isinstance(parsed, dict) and "error" in parsed else err or out
        return f"falló (código {code}): {_short(str(detail))}"
    bajas = f"bajas {data['bajas']:,}"
    if data.get("bajas_on_hold"):
        # held while some row has no folio: nobody can be told apart as gone (README)
        bajas += f" ({data['bajas_on_hold']:,} retenidas: hay filas sin folio)"
    parts = [
        f"altas {data['altas']:,}",
        f"cambios {data['cambios']:,}",
        bajas,
        f"pagos {data['pagos']:,}",
        f"inválidos {data['invalid_rows']:,}",
        f"conjuntos publicados {data['published']:,} de {data['change_sets']:,}",
    ]
    if data.get("waited"):
        accepted = f"elementos aceptados {data['accepted']:,}, rechazados {data['rejected']:,}"
        codes = sorted(data.get("rejected_by_code", {}).items(), key=lambda kv: -kv[1])
        if codes:
            accepted += " (" + ", ".join(f"{c} {n:,}" for c, n in codes) + ")"
        parts.append(accepted)
    notes: list[str] = []
    if data["invalid_rows"]:
        report = f": {data['report']}" if data.get("report") else ""
        notes.append(f"con filas inválidas (vea el reporte){report}")
    if data.get("unpublished"):
        notes.append(f"{data['unpublished']:,} conjuntos sin publicar (sisi outbox resend)")
    if data.get("awaiting_receipt"):
        notes.append(f"{data['awaiting_receipt']:,} conjuntos sin acuse (sisi outbox status)")
    if code not in (0, 1):
        notes.append(f"código de salida {code}")
    return " · ".join(parts) + (" — " + "; ".join(notes) if notes else "")


def run_until(
    command: list[str], env: Mapping[str, str], stop: threading.Event
) -> tuple[int | None, str, str]:
    """Run a child to completion, or terminate it when ``stop`` is set (exit code ``None``).

    A child that ends badly just as ``sisi up`` is being stopped counts as stopped too.
    """
    with subprocess.Popen(
        command,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **child_options(),
    ) as proc:
        while True:
            try:
                out, err = proc.communicate(timeout=0.5)
            except subprocess.TimeoutExpired:
                if stop.is_set():
                    proc.terminate()
                    try:
                        out, err = proc.communicate(timeout=10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        out, err = proc.communicate()
                    return None, out, err
                continue
            if proc.returncode != 0 and stop.wait(_STOP_GRACE):
                return None, out, err
            return proc.returncode, out, err


def _demo_faults(env: Mapping[str, str], agreements: list[Agreement], round_: int) -> str:
    """Send round ``round_``'s faults (:mod:`hub.cli.demo_faults`); a one-line summary."""
    from hub.cli.demo_faults import send_faults

    target = agreements[(round_ - 1) % len(agreements)]
    other = agreements[round_ % len(agreements)]
    engine = make_engine(env["SISI_DATABASE_URL"])
    try:
        sent = send_faults(env["SISI_BOOTSTRAP_SERVERS"], engine, target, other)
    except Exception as exc:  # the demo goes on; the hub is what matters
        return f"no se enviaron las fallas de ejemplo: {exc}"
    finally:
        engine.dispose()
    return (
        f"fallas de ejemplo en {target.id}, enviadas por la demo en conjuntos propios (folios "
        f"DEMO-FALLA-…): {'; '.join(sent)} (vea sisi quarantine list y sisi compliance)"
    )


def demo_loop(
    agencies: list[DemoAgency],
    env: Mapping[str, str],
    interval: float,
    rounds: int,
    stop: threading.Event,
    echo: Echo,
    faults: list[Agreement] | None = None,
) -> None:
    """``rounds`` rounds: each agency sends its next delivery, then the round's faults, then a
    pause of ``interval`` seconds."""
    for _ in range(rounds):
        round_ = max(agency.next_delivery for agency in agencies)
        for agency in agencies:
            if stop.is_set():
                return
            echo(f"[demo] {agency.deliver(env, stop)}")
        if faults and not stop.is_set():
            echo(f"[demo] {_demo_faults(env, faults, round_)}")
        if stop.wait(interval):
            return
    echo(
        "[demo] las agencias de demostración terminaron sus entregas de esta corrida "
        f"({rounds} rondas); el hub sigue en marcha (Ctrl-C para detener) y la próxima "
        "corrida sigue desde aquí."
    )
