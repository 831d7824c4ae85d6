/**
 * Numbers, dates, punctuation, markup and emoji for the tokenizer corpus (original text written
 * for this project).
 */
export const MISC = String.raw`Order #20417 — 3 items, total: $128.50 (incl. 10% VAT). Delivery: 2025-06-14, 09:30–12:00.
Phone: +82 2 555 0134 · Fax: +44 20 7946 0958 · Email: team@example.com
Version 1.12.3 → 2.0.0-rc.1; build 7f3a9c2; checksum sha256:0b1c…e9f4.
Temperatures (°C): −3.5, 0, 4.25, 12, 18.75, 23, 31.5. Ratio 3:2, speed 120 km/h, 60 mph, 1e-6, 6.02e23.
Scores: 57.93 / 80.21 / 68.3 / 74.02 — average ≈ 70.1 ± 9.6.
1. First item
2. Second item; see §4.2 and p. 17.
3. Third item: "quoted", 'single', «guillemets», „low‑high“.
- [x] done   - [ ] todo   * bullet   > quote
| name  | qty | price |
|-------|-----|-------|
| apple |  12 |  0.45 |
| pear  |   7 |  0.60 |
{"id": 42, "ok": true, "tags": ["a", "b"], "ratio": 0.125, "next": null}
<p class="note">Hello &amp; welcome!</p> <br/> <!-- comment -->
path/to/file.txt C:\Users\demo\Documents https://example.org/a/b?x=1&y=2#top
Emoji: 😀 🚀 🌧️ 🍜 👍🏽 ❤️ 🇰🇷 — mixed: 오늘은 맑음 ☀️, tomorrow rain 🌧️.
Math: a² + b² = c², ∑ xᵢ, √2 ≈ 1.41421, π ≈ 3.14159, ∞, ≤ ≥ ≠ ±.
Tabs:	one	two	three
Spaces:    four    spaces    between    words
Mixed CASE words: HTTPServer, getHTTPResponse, snake_case_name, kebab-case-name, CamelCase.
What's this? It's ours; they're here; we've seen it; I'm sure; you'll see; he'd know.
!!! ??? ... --- *** ### @@@ %%% ^^^ &&& ((( ))) [[[ ]]] {{{ }}} ~~~ ___ +++ === <<< >>>
`;
