"""Understanding tasks on whole court documents (``case`` records with a ``judgment``).

- ``document_type``: read a document and name its type (``文书类型：刑事裁定书``). The header line
  that states the type (``刑事裁定书``, ``指定管辖决定书``) is cut from the document shown, so the
  answer must come from the text (the 本院认为 reasoning, ``裁定如下``, the court's wording), not
  from copying its heading. Only types ending in 书 are asked: crime stories (``案例``) are not
  court documents.
- ``case_cause``: read a criminal document and name the charges it is about
  (``案由：故意杀人罪、抢劫罪``): in a criminal case the 案由 is the charge. Only documents whose
  ``charges`` the adapter found in the text (指控/认定被告人X犯Y罪) are asked, so the answer is
  checkable against the document. Civil causes (…纠纷) are not asked: party names run straight into
  the cause in titles and texts (``…钱菊生其他合同纠纷``), so the cause cannot be cut out reliably.

No summary task: a document has no verifiable summary, and answers here are never invented.
Documents longer than ``max_chars`` are skipped (counted under ``skipped``). All queries about one
document share the group ``case:{source}:{source_id}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import Field

from ..pipeline.base import Context, Record, StepParams, TaskGenerator, final_line, register_step
from ..records import CASE, kinds

#: a document's heading line that names its type (刑事裁定书, 指定管辖决定书, 民事判决书)
_TYPE_HEADING = re.compile(r"^[\u4e00-\u9fff]{0,10}(?:裁定|判决|决定|调解|通知)书$")
#: the words that open a document's operative part
_OPERATIVE = re.compile(r"(?:裁定|判决|决定)如下")


class DocumentParams(StepParams):
    max_chars: int = Field(6000, ge=1, description="longer documents make no query")


def document_body(judgment: str) -> str:
    """The document without its type heading (the first lines only are looked at)."""
    lines = judgment.split("\n")
    head = [line for line in lines[:4] if not _TYPE_HEADING.match(line.strip())]
    return "\n".join(head + lines[4:]).strip()


class DocumentTask(TaskGenerator):
    """A question on a whole court document, shown without its type heading."""

    applies_to = kinds(CASE)
    level = "understanding"
    Params = DocumentParams

    def group(self, record: Record) -> str:
        return f"case:{record['source']}:{record['source_id']}"

    def usable(self, record: Record, ctx: Context) -> str | None:
        """The document to show, or None (with a ``skipped`` count) when it is too long."""
        judgment = record.get("judgment") or ""
        if not judgment.strip():
            return None
        if len(judgment) > self.params.max_chars:
            ctx.stats.count("skipped", f"{self.name}:too_long")
            return None
        return document_body(judgment)


@register_step
class DocumentType(DocumentTask):
    """The type of a court document: 刑事裁定书, 民事判决书, 刑事决定书 ..."""

    name = "document_type"
    answer_line = final_line(r"文书类型：[\u4e00-\u9fff]+书")
    answer_chars = (8, 200)
    phrasings = (
        "请判断下面这份法律文书的类型（如刑事判决书、民事裁定书等）。\n\n{document}",
        "阅读以下裁判文书，指出它属于哪一种文书。\n\n{document}",
        "{document}\n\n上面这份文书是判决书、裁定书还是决定书？是刑事还是民事文书？",
        "以下文书的标题被略去了，请根据内容判断文书类型。\n\n{document}",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        doc_type = record.get("doc_type") or ""
        if not doc_type.endswith("书"):
            return
        document = self.usable(record, ctx)
        if document is None:
            return
        answer = f"这是一份{doc_type}。"
        m = _OPERATIVE.search(document)
        if m:
            answer += f"文书以“{m.group()}”引出处理结果。"
        user = self.phrase(record, document=document)
        yield self.query(record, user, f"{answer}\n\n文书类型：{doc_type}")


@register_step
class CaseCause(DocumentTask):
    """The charges (案由) of a criminal court document."""

    name = "case_cause"
    answer_line = final_line(r"案由：[^、\n]+(?:、[^、\n]+)*")
    answer_chars = (8, 400)
    phrasings = (
        "阅读以下刑事法律文书，指出本案的案由（罪名）。\n\n{document}",
        "{document}\n\n这份文书涉及的案由是什么？",
        "请根据下面的裁判文书，写出本案涉及的罪名。\n\n{document}",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        charges = record.get("charges") or []
        doc_type = record.get("doc_type") or ""
        if not charges or not doc_type.startswith("刑事"):
            return
        document = self.usable(record, ctx)
        if document is None:
            return
        listed = "、".join(charges)
        answer = f"本案是刑事案件，涉及的罪名为{listed}。\n\n案由：{listed}"
        yield self.query(record, self.phrase(record, document=document), answer)
