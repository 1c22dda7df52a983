"""Safe in-memory extraction of chat texts from WhatsApp .zip exports."""

from __future__ import annotations

import io
import stat
import struct
import zipfile

import pytest

from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.sources import zipsafe
from kpi_transforms.sources.whatsapp.parser import chat_name_from_filename, parse_whatsapp
from kpi_transforms.sources.zipsafe import extract_chat_texts

CHAT = "12/04/25 14.17 - Lia Sales: Halo kak\n12/04/25 14.18 - Budi: <Media tidak disertakan>\n"
JPEG = b"\xff\xd8\xff\xe0" + bytes(2000) + b"\xff\xd9"
MiB = 2**20


def make_zip(members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buf.getvalue()


def test_normal_export_zip_from_path_and_bytes(tmp_path, monkeypatch):
    data = make_zip(
        {
            "WhatsApp Chat with Budi.txt": CHAT.encode(),
            "IMG-20250412-WA0001.jpg": JPEG,
            "__MACOSX/._WhatsApp Chat with Budi.txt": b"\x00\x05\x16\x07 AppleDouble",
            "00000004-old-export.zip": make_zip({"_chat.txt": b"nested, ignored"}),
        }
    )
    path = tmp_path / "WhatsApp Chat with Budi.zip"
    path.write_bytes(data)
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    for source in (path, str(path), data, bytearray(data), memoryview(data)):
        assert extract_chat_texts(source) == [("WhatsApp Chat with Budi.txt", CHAT.encode())]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written to disk
    name, content = extract_chat_texts(path)[0]
    assert chat_name_from_filename(name) == "Budi" == chat_name_from_filename(path.name)
    assert parse_whatsapp(content).messages.message_type.tolist() == ["text", "media"]


def test_ios_export_and_several_texts_keep_archive_order():
    data = make_zip(
        {"_chat.txt": b"a", "00000001-PHOTO.jpg": JPEG, "sub/dir/notes.TXT": b"b"},
        compression=zipfile.ZIP_STORED,
    )
    assert extract_chat_texts(data) == [("_chat.txt", b"a"), ("sub/dir/notes.TXT", b"b")]


@pytest.mark.parametrize(
    "name, why",
    [
        ("../evil.txt", "'..'"),
        ("chats/../../evil.txt", "'..'"),
        ("..\\evil.txt", "'..'"),
        ("/etc/evil.txt", "absolute"),
        ("\\evil.txt", "absolute"),
        ("C:/Windows/evil.txt", "absolute"),
        ("../IMG-1.jpg", "'..'"),  # a bad media member rejects the whole archive too
    ],
)
def test_unsafe_member_names_are_rejected(name, why):
    data = make_zip({"_chat.txt": CHAT.encode(), name: b"x"})
    with pytest.raises(RejectedFile, match=why) as info:
        extract_chat_texts(data)
    assert repr(name) in info.value.reason


def test_symlink_member_is_rejected():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("_chat.txt", CHAT)
        link = zipfile.ZipInfo("link.txt")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(RejectedFile, match="'link.txt' is a symbolic link"):
        extract_chat_texts(buf.getvalue())


def _set_flag(data: bytes, bit: int) -> bytes:
    """Set a general-purpose flag bit in every local and central header."""
    out = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = out.find(sig)
        while pos >= 0:
            (flags,) = struct.unpack_from("<H", out, pos + offset)
            struct.pack_into("<H", out, pos + offset, flags | bit)
            pos = out.find(sig, pos + 4)
    return bytes(out)


def test_encrypted_member_is_rejected():
    data = _set_flag(make_zip({"_chat.txt": CHAT.encode()}), 0x1)
    with pytest.raises(RejectedFile, match="'_chat.txt' is encrypted"):
        extract_chat_texts(data)


def _zeros_zip(path, size: int) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("_chat.txt", "w", force_zip64=True) as fh:
            chunk = bytes(8 * MiB)
            for _ in range(size // len(chunk)):
                fh.write(chunk)


def test_zip_bomb_is_rejected(tmp_path):
    path = tmp_path / "bomb.zip"
    _zeros_zip(path, 200 * MiB)
    assert path.stat().st_size < 1 * MiB  # 200 MB of zeros compress to a few hundred KB
    with pytest.raises(RejectedFile, match="_chat.txt"):
        extract_chat_texts(path, max_member_bytes=10 * MiB)


def _lie_about_size(data: bytes, size: int) -> bytes:
    """Rewrite the uncompressed size in the local and central headers (a lying zip bomb)."""
    out = bytearray(data)
    local = out.find(b"PK\x03\x04")
    struct.pack_into("<I", out, local + 22, size)
    central = out.find(b"PK\x01\x02")
    struct.pack_into("<I", out, central + 24, size)
    return bytes(out)


def test_lying_zip_bomb_is_rejected():
    honest = make_zip({"_chat.txt": bytes(20 * MiB)})
    liar = _lie_about_size(honest, 1000)
    assert zipfile.ZipFile(io.BytesIO(liar)).infolist()[0].file_size == 1000
    with pytest.raises(RejectedFile, match="_chat.txt.*(corrupt|CRC)"):
        extract_chat_texts(liar, max_member_bytes=10 * MiB)


def test_reading_stops_at_the_limit_whatever_the_header_says():
    """The chunked reader never trusts a size: an endless member is cut at the limit."""

    class Endless(io.RawIOBase):
        reads = 0

        def readable(self):
            return True

        def readinto(self, b):
            Endless.reads += 1
            b[:] = bytes(len(b))
            return len(b)

    class FakeArchive:
        def open(self, info):
            return io.BufferedReader(Endless())

    info = zipfile.ZipInfo("_chat.txt")
    info.file_size = 10  # the header claims 10 bytes
    with pytest.raises(RejectedFile, match="more than 3145728 bytes"):
        zipsafe._read_member(FakeArchive(), info, 3 * MiB, 10 * MiB, 0)
    assert Endless.reads < 16  # stopped after about 4 chunks of 1 MiB


def test_total_size_of_text_members_is_bounded():
    data = make_zip({"a.txt": bytes(3 * MiB), "b.txt": bytes(3 * MiB)})
    assert len(extract_chat_texts(data, max_member_bytes=4 * MiB, max_total_bytes=6 * MiB)) == 2
    with pytest.raises(RejectedFile, match="more than 5242880 bytes.*'b.txt'"):
        extract_chat_texts(data, max_member_bytes=4 * MiB, max_total_bytes=5 * MiB)


def test_truncated_zip_is_rejected():
    data = make_zip({"_chat.txt": CHAT.encode() * 100, "IMG-1.jpg": JPEG})
    for cut in (len(data) // 2, len(data) - 10, 30):
        with pytest.raises(RejectedFile, match="not a readable zip archive"):
            extract_chat_texts(data[:cut])


def test_corrupt_member_data_is_rejected():
    text = ("12/04/25 14.17 - Lia: " + "Halo kak, ready stok? " * 50 + "\n").encode() * 50
    data = bytearray(make_zip({"_chat.txt": text}))
    start = 30 + len("_chat.txt")
    for k in range(start + 20, start + 60):  # damage the deflate stream, keep the directory
        data[k] ^= 0x5A
    with pytest.raises(RejectedFile, match="_chat.txt"):
        extract_chat_texts(bytes(data))


def test_zip_without_chat_text_is_rejected():
    data = make_zip({"IMG-1.jpg": JPEG, "__MACOSX/._chat.txt": b"x", "folder/": b""})
    with pytest.raises(RejectedFile, match=r"no chat text \(.txt\) member"):
        extract_chat_texts(data)


def test_not_a_zip_is_rejected(tmp_path):
    with pytest.raises(RejectedFile, match="not a readable zip archive"):
        extract_chat_texts(CHAT.encode())
    with pytest.raises(RejectedFile, match="not a readable zip archive"):
        extract_chat_texts(b"")
    path = tmp_path / "chat.zip"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(RejectedFile, match=str(path)):
        extract_chat_texts(path)
