"""Counts read right in every language: the console's own `t()` (console/js/i18n.js, run by
Node with the real message bundles) gives each count message its plural form for 0, 1 and 2.
Zero is plural in all four languages, though CLDR files Portuguese's 0 under "one" (the
console once said "0 cliente")."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

CONSOLE = Path(__file__).resolve().parents[2] / "console"
NODE = shutil.which("node")

# Browser globals i18n.js reads at import, and fetch answering the bundles from disk; then every
# plural message of every bundle, in every language, at 0, 1 and 2.
SCRIPT = """
import { readFile } from "node:fs/promises";
const root = process.argv[1];
const saved = new Map();
globalThis.localStorage = { getItem: (k) => saved.get(k) ?? null, setItem: (k, v) => saved.set(k, v) };
globalThis.navigator = { languages: ["en"] };
globalThis.document = { documentElement: {} };
globalThis.fetch = async (url) => ({
  ok: true, json: async () => JSON.parse(await readFile(new URL(url), "utf8")),
});
const i18n = await import(new URL("js/i18n.js", root));
const names = JSON.parse(process.argv[2]);
for (const name of names) await i18n.loadMessages(name);
const out = {};
for (const lang of ["pt-BR", "es", "it", "en"]) {
  i18n.setLang(lang);
  for (const name of names) {
    const bundle = JSON.parse(await readFile(new URL(`i18n/${name}.json`, root), "utf8"));
    for (const [key, message] of Object.entries(bundle[lang])) {
      if (typeof message !== "object") continue;
      for (const count of [0, 1, 2]) out[`${lang} ${key} ${count}`] = i18n.t(key, { count, property: "x", when: "y" });
    }
  }
}
console.log(JSON.stringify(out));
"""


@pytest.mark.skipif(NODE is None, reason="needs Node to run the console's i18n module")
def test_every_count_message_takes_its_plural_form_at_zero_one_and_two() -> None:
    names = sorted(path.stem for path in (CONSOLE / "i18n").glob("*.json"))
    assert NODE is not None
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", SCRIPT, CONSOLE.as_uri() + "/", json.dumps(names)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    said = json.loads(done.stdout)
    expected = {}
    for name in names:
        for lang, messages in json.loads((CONSOLE / f"i18n/{name}.json").read_text()).items():
            for key, message in messages.items():
                if isinstance(message, dict):
                    for count, form in ((0, "zero"), (1, "one"), (2, "other")):
                        text = str(message.get(form, message["other"]))
                        expected[f"{lang} {key} {count}"] = (
                            text.replace("{count}", str(count))
                            .replace("{property}", "x")
                            .replace("{when}", "y")
                        )
    assert len(expected) > 50  # every bundle's count messages were read
    assert said == expected
    assert said["pt-BR customers.count 0"] == "0 clientes"
