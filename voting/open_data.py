"""The open-data files' formats, written line by line for streaming: CSV and JSON.

The results (voting), the urn's receipts (voting) and the money trail (funding) are downloaded
in the same two formats, so both apps write them with these. The urn's ballots, the largest
files, are gzip-compressed as they stream.
"""

import csv
import json
import zlib


class _Echo:
    def write(self, value):
        return value


def _csv_value(value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else value


def csv_lines(fields, rows):
    """CSV text line by line (for streaming): a header, then one line per row (a dict)."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow(fields)
    for row in rows:
        yield writer.writerow([_csv_value(row[field]) for field in fields])


def json_lines(fields, rows):
    """A JSON array of objects (one per row, with ``fields`` as keys) piece by piece."""
    yield "["
    separator = "\n"
    for row in rows:
        yield separator + json.dumps({field: row[field] for field in fields}, ensure_ascii=False)
        separator = ",\n"
    yield "\n]\n"


# About what a gzip member may hold before it is written out: small enough to keep the stream
# moving, large enough not to flush the compressor every line.
GZIP_CHUNK = 64 * 1024


def gzip_chunks(pieces):
    """Text pieces (any iterable of str) as one gzip file, compressed as it streams."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip header and trailer
    pending, size = [], 0
    for piece in pieces:
        data = piece.encode()
        pending.append(data)
        size += len(data)
        if size >= GZIP_CHUNK:
            out = compressor.compress(b"".join(pending))
            pending, size = [], 0
            if out:
                yield out
    yield compressor.compress(b"".join(pending)) + compressor.flush()
