"""The emulated model's reply sentences in the languages eSpeak NG speaks besides English.

``speechConfig.languageCode`` picks the table by its language part (``fr-FR`` -> ``fr``); the
reply is then both written and spoken in that language (the voice follows the same code,
:mod:`.voice`). English and Korean are composed in :mod:`.conversation`. The persona and quoted
words stay as received: they are the client's text.
"""

from __future__ import annotations

# key -> (heard {s}, said {w}, wrote {w}, image {i}, checking {f}, tool {r}, remember {n})
PHRASES: dict[str, dict[str, str]] = {
    "fr": {
        "heard": "Je vous ai entendu pendant {s} secondes.",
        "said": "Vous avez dit : « {w} ».",
        "wrote": "Vous avez écrit : « {w} ».",
        "image": "Je vois une image {i}.",
        "checking": "Je vérifie {f} pour vous.",
        "tool": "L'outil a répondu : {r}.",
        "remember": "Je me souviens de {n} tours précédents.",
    },
    "de": {
        "heard": "Ich habe Sie {s} Sekunden lang gehört.",
        "said": "Sie sagten: „{w}“.",
        "wrote": "Sie schrieben: „{w}“.",
        "image": "Ich sehe ein Bild {i}.",
        "checking": "Ich prüfe {f} für Sie.",
        "tool": "Das Werkzeug meldete: {r}.",
        "remember": "Ich erinnere mich an {n} frühere Runden.",
    },
    "es": {
        "heard": "Le escuché durante {s} segundos.",
        "said": "Usted dijo: «{w}».",
        "wrote": "Usted escribió: «{w}».",
        "image": "Veo una imagen {i}.",
        "checking": "Compruebo {f} para usted.",
        "tool": "La herramienta respondió: {r}.",
        "remember": "Recuerdo {n} turnos anteriores.",
    },
    "it": {
        "heard": "L'ho sentita per {s} secondi.",
        "said": "Ha detto: «{w}».",
        "wrote": "Ha scritto: «{w}».",
        "image": "Vedo un'immagine {i}.",
        "checking": "Controllo {f} per lei.",
        "tool": "Lo strumento ha risposto: {r}.",
        "remember": "Ricordo {n} turni precedenti.",
    },
    "pt": {
        "heard": "Ouvi você durante {s} segundos.",
        "said": "Você disse: «{w}».",
        "wrote": "Você escreveu: «{w}».",
        "image": "Vejo uma imagem {i}.",
        "checking": "Vou verificar {f} para você.",
        "tool": "A ferramenta respondeu: {r}.",
        "remember": "Lembro-me de {n} turnos anteriores.",
    },
    "nl": {
        "heard": "Ik heb u {s} seconden gehoord.",
        "said": "U zei: „{w}”.",
        "wrote": "U schreef: „{w}”.",
        "image": "Ik zie een afbeelding {i}.",
        "checking": "Ik controleer {f} voor u.",
        "tool": "Het hulpmiddel antwoordde: {r}.",
        "remember": "Ik herinner me {n} eerdere beurten.",
    },
}


def compose(lang: str, persona: str, *, speech_s: float, words: str, recognised: bool, texts: list[str],
            images: list[str], checking: list[str], tool_results: list[str], remembered: int) -> str | None:
    """The reply in ``lang`` (a language part, ``"fr"``), or None when there is no table for it."""
    p = PHRASES.get(lang)
    if p is None:
        return None
    parts = [f"{persona}."]
    if speech_s > 0:
        parts.append(p["heard"].format(s=f"{speech_s:.1f}"))
        if words:
            parts.append(p["said"].format(w=words))
    parts += [p["wrote"].format(w=t[:80]) for t in texts]
    if images:
        parts.append(p["image"].format(i=", ".join(images)))
    if checking:
        parts.append(p["checking"].format(f=", ".join(checking)))
    if tool_results:
        parts.append(p["tool"].format(r="; ".join(tool_results)))
    parts.append(p["remember"].format(n=remembered))
    return " ".join(parts)
