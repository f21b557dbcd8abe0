"""File downloads the pages and the API answer alike."""

from flask import Response


def csv_download(text: str, filename: str) -> Response:
    """``text`` (an export of ``services.exports``) as a CSV attachment named ``filename``
    (ASCII: ``exports.filename``)."""
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
