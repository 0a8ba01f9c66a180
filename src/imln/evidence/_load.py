"""Load the versioned evidence files shipped in ``imln/evidence/data``."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from imln.evidence._records import EvidenceRecord, Kind, Reference

__all__ = ["EvidenceBase", "EvidenceError", "load_evidence", "default_data_dir"]


class EvidenceError(ValueError):
    """An evidence file is malformed: names the file, the record and the field."""


def default_data_dir() -> Path:
    """Folder of the evidence files bundled with the package."""
    return Path(str(resources.files("imln.evidence") / "data"))


@dataclass(frozen=True)
class EvidenceBase:
    """All evidence records and references of one evidence version."""

    version: str
    digest: str
    records: tuple[EvidenceRecord, ...]
    references: dict[str, Reference]
    files: dict[str, str] = field(default_factory=dict)  # record id -> file name

    def __post_init__(self) -> None:
        # id -> record, built once (records are immutable); the first of duplicate ids wins, as in a scan
        index: dict[str, EvidenceRecord] = {}
        for record in self.records:
            index.setdefault(record.id, record)
        object.__setattr__(self, "_by_id", index)

    def __iter__(self) -> Iterator[EvidenceRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __contains__(self, record_id: object) -> bool:
        return isinstance(record_id, str) and record_id in self._by_id  # type: ignore[attr-defined]

    def get(self, record_id: str) -> EvidenceRecord:
        """The record with this id; KeyError naming close ids when absent."""
        record = self._by_id.get(record_id)  # type: ignore[attr-defined]
        if record is not None:
            return record
        close = [r.id for r in self.records if record_id.split("-")[0] in r.id][:5]
        hint = f" (similar: {', '.join(close)})" if close else ""
        raise KeyError(f"no evidence record {record_id!r}{hint}")

    def filter(
        self,
        *,
        kind: Kind | str | None = None,
        measures: str | None = None,
        modality: str | None = None,
        setting: str | None = None,
    ) -> list[EvidenceRecord]:
        """Records matching every given criterion."""
        out = []
        for r in self.records:
            if kind is not None and r.kind != kind:
                continue
            if measures is not None and r.measures != measures:
                continue
            if modality is not None and r.modality != modality:
                continue
            if setting is not None and r.setting != setting:
                continue
            out.append(r)
        return out

    def reference(self, key: str) -> Reference:
        try:
            return self.references[key]
        except KeyError:
            raise KeyError(f"no reference {key!r} in references.yaml") from None


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise EvidenceError(f"{path.name}: not valid YAML: {exc}") from None


def _format_validation(where: str, exc: ValidationError) -> str:
    lines = [f"{where}:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(record)"
        lines.append(f"  {loc}: {err['msg']}")
    return "\n".join(lines)


def _parse_references(path: Path) -> dict[str, Reference]:
    raw = _read_yaml(path)
    if not isinstance(raw, dict) or "references" not in raw:
        raise EvidenceError(f"{path.name}: expected a mapping with key 'references'")
    refs: dict[str, Reference] = {}
    for key, body in raw["references"].items():
        if not isinstance(body, dict):
            raise EvidenceError(f"{path.name}: reference {key!r} must be a mapping")
        try:
            refs[key] = Reference(key=key, **body)
        except ValidationError as exc:
            raise EvidenceError(_format_validation(f"{path.name}: reference {key!r}", exc)) from None
    return refs


def _parse_records(path: Path) -> list[EvidenceRecord]:
    raw = _read_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("records"), list):
        raise EvidenceError(f"{path.name}: expected a mapping with a list under 'records'")
    records = []
    for i, body in enumerate(raw["records"]):
        rid = body.get("id", f"#{i}") if isinstance(body, dict) else f"#{i}"
        if not isinstance(body, dict):
            raise EvidenceError(f"{path.name}: record {rid} must be a mapping")
        try:
            records.append(EvidenceRecord(**body))
        except ValidationError as exc:
            raise EvidenceError(_format_validation(f"{path.name}: record {rid!r}", exc)) from None
    return records


def _digest(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths, key=lambda p: p.name):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def load_evidence(data_dir: str | Path | None = None) -> EvidenceBase:
    """Read and validate every evidence file listed in ``manifest.yaml``.

    Raises :class:`EvidenceError` naming the file, record and field of the first
    malformed entry, or a duplicate record id. Loading a folder whose files have not
    changed returns the same (immutable) object as before, so the caches keyed on the
    evidence base keep serving it and do not fill with copies.
    """
    if data_dir is None:
        return _load_default()
    return _load(Path(data_dir))


@cache
def _load_default() -> EvidenceBase:
    return _load(default_data_dir())


#: Evidence bases kept by :func:`_load`, by folder and content digest (least recently used dropped).
_LOADED_SIZE = 8


def _load(data_dir: Path) -> EvidenceBase:
    manifest_path = data_dir / "manifest.yaml"
    if not manifest_path.is_file():
        raise EvidenceError(f"no manifest.yaml in {data_dir}")
    manifest = _read_yaml(manifest_path)
    if not isinstance(manifest, dict) or not {"version", "references", "record_files"} <= set(manifest):
        raise EvidenceError("manifest.yaml: needs 'version', 'references' and 'record_files'")
    paths = [manifest_path, data_dir / manifest["references"]]
    for name in manifest["record_files"]:
        path = data_dir / name
        if not path.is_file():
            raise EvidenceError(f"manifest.yaml lists {name}, which does not exist")
        paths.append(path)
    return _parsed(data_dir.resolve(), _digest(paths), tuple(paths), tuple(manifest["record_files"]),
                   str(manifest["version"]))


@lru_cache(maxsize=_LOADED_SIZE)
def _parsed(data_dir: Path, digest: str, paths: tuple[Path, ...], names: tuple[str, ...], version: str
            ) -> EvidenceBase:
    """The evidence base of these files (manifest, references, then the record files ``names``), whose content
    has ``digest``: cached on it. ``version`` is the manifest's, already read."""
    references = _parse_references(paths[1])
    records: list[EvidenceRecord] = []
    files: dict[str, str] = {}
    for name, path in zip(names, paths[2:], strict=True):
        for record in _parse_records(path):
            if record.id in files:
                raise EvidenceError(f"{name}: record id {record.id!r} already used in {files[record.id]}")
            files[record.id] = name
            records.append(record)
    return EvidenceBase(
        version=version,
        digest=digest,
        records=tuple(records),
        references=references,
        files=files,
    )
