"""Subtitle text-encoding detection: reelkit against charset-normalizer and chardet on generated files.

Subtitle files without a byte-order mark in an 8-bit code page are still common (a translator's Windows
tool, an old archive). Reading one in the wrong code page garbles every accented letter, and a re-timed file
written back in it keeps the damage. The corpus: short SRT files (1, 2, 3, 5 and 10 cues, 4 draws each) of
real sentences in 25 languages, each in the code page its script is usually written in (Windows' for
the alphabets, the multi-byte ones for Chinese, Japanese and Korean), and in
seven legacy pages (KOI8-R, ISO-8859-2/5/7, Mac Roman/Cyrillic/Greek) for the languages they serve. A file
is read right when the detected codec gives back the exact text. Tools:

* ``reelkit``: :func:`reelkit.post.subs.io.decode_text` (what ``load_subtitles`` and every ``reelkit subs``
  command use);
* ``charset-normalizer``: ``from_bytes(data).best()`` (what reelkit used alone before; requests' detector);
* ``chardet``: ``chardet.detect(data)`` (ffsubsync's detector).

Usage::

    python benchmarks/bench_subs_encoding.py

Writes ``benchmarks/out/subs_encoding.json`` and ``benchmarks/RESULTS.d/subs_encoding.md`` (``--out`` and
``--md``: elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import write_section

HERE = Path(__file__).resolve().parent
RESULTS_MD = HERE / "RESULTS.d" / "subs_encoding.md"

#: (language, its usual code page): sentences of the kind subtitles carry
SENTENCES: dict[tuple[str, str], list[str]] = {
    ("fr", "cp1252"): [
        "C'est déjà l'été, où êtes-vous ? Ça va très bien, merci.",
        "Où est la gare ? Je ne sais pas où aller.",
        "Ça alors ! Tu es déjà là ?",
        "Il était une fois, dans un château très éloigné...",
        "Je suis désolé, je n'ai pas pu venir à la fête.",
        "Qu'est-ce que tu fais là ? Rien, je t'attends.",
        "Elle a dû partir très tôt ce matin.",
        "Noël approche, et il fait froid.",
    ],
    ("es", "cp1252"): [
        "¿Dónde está la estación? No sé qué pasó.",
        "Señor, ¿qué hace aquí? ¡Qué sorpresa!",
        "El niño comió también.",
        "No lo sé, pero mañana será otro día.",
        "¿Por qué no viniste anoche?",
        "Está bien, vámonos.",
    ],
    ("de", "cp1252"): [
        "Ich weiß nicht, was passiert ist. Schöne Grüße!",
        "Größer als die Straße, für die Brücke.",
        "Das Mädchen hat Äpfel gekauft.",
        "Wir müssen jetzt gehen.",
        "Können Sie mir helfen?",
        "Es ist schon spät, du solltest schlafen.",
    ],
    ("pt", "cp1252"): [
        "Não sei o que aconteceu, você está bem?",
        "Ele não quer ir à praia.",
        "Obrigado, até amanhã.",
        "Você já comeu? Ainda não.",
    ],
    ("it", "cp1252"): [
        "Perché non sei venuto? È già tardi, però.",
        "Così è la vita, non c'è niente da fare.",
        "Città e università.",
        "Dov'è il mio cappotto?",
    ],
    ("da", "cp1252"): [
        "Hvad så? Jeg ved ikke hvad der skete på øen.",
        "Det er for sent nu, må jeg gå?",
        "Æblet er rødt.",
    ],
    ("sv", "cp1252"): [
        "Där är det, på ön. Jag vet inte vad som hände.",
        "Får jag följa med?",
        "Vi ses i morgon, hälsa henne.",
    ],
    ("en", "cp1252"): [
        "It’s “fine”, really — don’t worry…",
        "I don’t know what you’re talking about.",
        "Café au lait, please.",
    ],
    ("pl", "cp1250"): [
        "Dziękuję, żółw źle się czuje.",
        "Łódź jest piękna.",
        "Nie wiem, co się stało.",
        "Cześć, jak się masz?",
        "Gdzie jest dworzec?",
    ],
    ("cs", "cp1250"): [
        "Děkuji, to je skvělé.",
        "Nevím, co se stalo.",
        "Kde je nádraží?",
        "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    ],
    ("hu", "cp1250"): [
        "Köszönöm, nagyon jó.",
        "Nem tudom, mi történt.",
        "Hol van az állomás?",
        "Árvíztűrő tükörfúrógép.",
    ],
    ("ro", "cp1250"): [
        "Mulţumesc, totul este bine.",
        "Nu ştiu ce s-a întâmplat.",
        "Unde este gara?",
        "Bună ziua, ce mai faci?",
    ],
    ("hr", "cp1250"): [
        "Hvala, sve je u redu.",
        "Ne znam što se dogodilo.",
        "Gdje je kolodvor? Čekaj!",
        "Doviđenja, vidimo se sutra. Ćao.",
    ],
    ("ru", "cp1251"): [
        "Я не знаю, что случилось.",
        "Где вокзал?",
        "Спасибо, всё хорошо.",
        "Привет, как дела?",
    ],
    ("el", "cp1253"): [
        "Δεν ξέρω τι συνέβη.",
        "Πού είναι ο σταθμός;",
        "Ευχαριστώ πολύ.",
        "Γεια σου, τι κάνεις;",
    ],
    ("tr", "cp1254"): [
        "Bilmiyorum, ne oldu?",
        "Teşekkür ederim, çok güzel.",
        "İstasyon nerede?",
        "Günaydın, nasılsın? Şöyle böyle.",
    ],
    ("lt", "cp1257"): [
        "Ačiū, viskas gerai.",
        "Nežinau, kas atsitiko.",
        "Kur yra stotis?",
        "Labas, kaip sekasi? Ąžuolas žydi.",
    ],
    ("lv", "cp1257"): [
        "Paldies, viss ir labi.",
        "Es nezinu, kas notika.",
        "Kur ir stacija?",
        "Sveiki, kā jums klājas? Ļoti labi.",
    ],
    ("et", "cp1257"): [
        "Tänan, kõik on hästi.",
        "Ma ei tea, mis juhtus.",
        "Kus on jaam?",
        "Tere, kuidas läheb? Šokolaad.",
    ],
    ("ja", "cp932"): [
        "今日は寒いですね。",
        "駅まで歩きます。",
        "先生に聞いてください。",
        "家族と一緒に住んでいます。",
        "ﾏｱﾏｱﾀﾞﾖ｡ｱｼﾀ ﾄｳｷｮｳﾆ ｲｸﾖ｡",
    ],
    ("zh", "gb18030"): ["你好，你今天怎么样？", "天气很好。", "我不知道发生了什么。", "火车站在哪里？"],
    ("zh-tw", "big5"): ["你好，你今天怎麼樣？", "天氣很好。", "我不知道發生了什麼。", "火車站在哪裡？"],
    ("ko", "cp949"): [
        "안녕하세요, 잘 지내세요?",
        "무슨 일이 있었는지 모르겠어요.",
        "역이 어디예요?",
        "정말 감사합니다.",
    ],
    ("he", "cp1255"): ["אני לא יודע מה קרה.", "איפה התחנה?", "תודה רבה, הכל בסדר.", "שלום, מה שלומך?"],
    ("ar", "cp1256"): [
        "لا أعرف ماذا حدث.",
        "أين المحطة؟",
        "شكرا جزيلا، كل شيء على ما يرام.",
        "مرحبا، كيف حالك؟",
    ],
    ("th", "cp874"): [
        "ฉันไม่รู้ว่าเกิดอะไรขึ้น",
        "สถานีอยู่ที่ไหน",
        "ขอบคุณมาก ทุกอย่างเรียบร้อยดี",
        "สวัสดีครับ สบายดีไหม",
    ],
}
#: legacy code pages and the language whose sentences they carry
LEGACY = {
    "koi8_r": "ru",
    "iso8859_5": "ru",
    "mac_cyrillic": "ru",
    "iso8859_7": "el",
    "mac_greek": "el",
    "iso8859_2": "pl",
    "mac_roman": "fr",
}
CUES = (1, 2, 3, 5, 10)
DRAWS = 4


def corpus(seed: int = 0) -> list[tuple[str, str, str]]:
    """``(language, codec, text)`` for every generated file (deterministic)."""
    rng = random.Random(seed)
    out = []
    plan = [(lang, enc, lines) for (lang, enc), lines in SENTENCES.items()]
    by_lang = {lang: lines for (lang, _), lines in SENTENCES.items()}
    plan += [(lang, enc, by_lang[lang]) for enc, lang in LEGACY.items()]
    for lang, enc, lines in plan:
        for n in CUES:
            for _ in range(DRAWS):
                picked = [rng.choice(lines) for _ in range(n)]
                text = "".join(
                    f"{i}\r\n00:00:{i:02d},000 --> 00:00:{i:02d},900\r\n{s}\r\n\r\n"
                    for i, s in enumerate(picked, 1)
                )
                out.append((lang, enc, text))
    return out


def _reelkit(data: bytes) -> str | None:
    from reelkit.errors import DataFormatError
    from reelkit.post.subs.io import decode_text

    try:
        return decode_text(data)[1]
    except DataFormatError:
        return None


def _charset_normalizer(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return None if best is None else str(best.encoding)


def _chardet(data: bytes) -> str | None:
    import chardet

    return chardet.detect(data).get("encoding")


TOOLS: dict[str, Callable[[bytes], str | None]] = {
    "reelkit": _reelkit,
    "charset-normalizer": _charset_normalizer,
    "chardet": _chardet,
}


def _right(data: bytes, text: str, codec: str | None) -> bool:
    if codec is None:
        return False
    try:
        return data.decode(codec) == text
    except (UnicodeDecodeError, LookupError):
        return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "out" / "subs_encoding.json")
    ap.add_argument("--md", type=Path, default=RESULTS_MD, help="the RESULTS section to rewrite")
    args = ap.parse_args(argv)
    files = corpus()
    right: dict[str, Counter[str]] = {t: Counter() for t in TOOLS}
    total: Counter[str] = Counter()
    seconds = dict.fromkeys(TOOLS, 0.0)
    for lang, enc, text in files:
        data = text.encode(enc)
        group = f"{lang} {enc}"
        total[group] += 1
        for name, tool in TOOLS.items():
            t0 = time.perf_counter()
            codec = tool(data)
            seconds[name] += time.perf_counter() - t0
            right[name][group] += _right(data, text, codec)
    usual = [g for g in total if g.split()[1] not in LEGACY]
    summary = {
        name: {
            "usual": sum(right[name][g] for g in usual),
            "legacy": sum(right[name][g] for g in total if g not in usual),
            "ms_per_file": 1000 * seconds[name] / len(files),
        }
        for name in TOOLS
    }
    n_win = sum(total[g] for g in usual)
    n_leg = sum(total.values()) - n_win
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"total": dict(total), "right": {k: dict(v) for k, v in right.items()}, "summary": summary},
            indent=1,
        )
    )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "### Subtitle text encodings: reelkit vs charset-normalizer and chardet",
        "",
        f"Command: `python benchmarks/bench_subs_encoding.py` — {when}, {platform.machine()}, "
        f"{os.cpu_count()} cores; deterministic (the counts do not depend on the machine).",
        "",
        f"Corpus: {len(files)} generated SRT files without a byte-order mark ({len(SENTENCES)} languages "
        f"in their usual code page, {n_win} files; {len(LEGACY)} legacy code pages, {n_leg} files), 1 to "
        "10 cues each; right = the detected codec gives back the exact text. See the script's docstring. The "
        "times are one pass over the corpus (2 cores, shared), a guide only.",
        "",
        "| tool | usual code page: right | legacy code page: right | ms per file |",
        "|---|---:|---:|---:|",
    ]
    for name, s in summary.items():
        lines.append(
            f"| {name} | {s['usual']} / {n_win} ({s['usual'] / n_win:.0%}) | {s['legacy']} / {n_leg} "
            f"({s['legacy'] / n_leg:.0%}) | {s['ms_per_file']:.1f} |"
        )
    lines += ["", "Per language and code page (files right of " + f"{len(CUES) * DRAWS} each):", ""]
    lines += ["| language | " + " | ".join(TOOLS) + " |", "|---|" + "---:|" * len(TOOLS)]
    for g in total:
        lines.append(f"| {g} | " + " | ".join(str(right[t][g]) for t in TOOLS) + " |")
    write_section(args.md, "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
