"""Hardened XML reading for every diagram the product touches (uploads, workflows/, the modeler).

lxml's defaults resolve entities and may load DTDs; a diagram is data from a browser, so we parse
with entity resolution, DTD loading and network access off, refuse any DOCTYPE outright (billion
laughs, external entities), and cap the size."""
from __future__ import annotations

from lxml import etree

MAX_DIAGRAM_BYTES = 2 * 1024 * 1024


class UnsafeXml(ValueError):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def parse_xml(content: bytes) -> etree._ElementTree:
    if len(content) > MAX_DIAGRAM_BYTES:
        raise UnsafeXml(f"file is larger than {MAX_DIAGRAM_BYTES // 1024} KiB")
    head = content[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in content.lower():
        line = content[: content.lower().find(b"<!")].count(b"\n") + 1
        raise UnsafeXml("DOCTYPE and entity declarations are not allowed in diagrams", line)
    try:
        tree = etree.ElementTree(etree.fromstring(content, _parser()))
    except etree.XMLSyntaxError as exc:
        raise UnsafeXml(f"not well-formed XML: {exc.msg}", exc.lineno) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UnsafeXml("DOCTYPE declarations are not allowed in diagrams", 1)
    return tree
