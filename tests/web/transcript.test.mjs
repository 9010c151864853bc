// The page's transcript model against the live event protocol (run by tests/unit/test_web.py
// with `node --test`): segments stream in, revisions replace, split and remove by id.
import assert from "node:assert/strict";
import { test } from "node:test";

import { TranscriptModel } from "../../serve_app/http/static/js/transcript.js";

const seg = (id, start, text, speaker = null) => ({
  id, start, end: start + 1, text, speaker, speaker_confidence: null,
  start_display: "", end_display: "",
});

test("segments stream in and revisions apply in place", () => {
  const model = new TranscriptModel();
  const events = [
    { type: "status", status: "processing", seq: 1 },
    { type: "segment", ...seg("0", 0, "hello there", "SPEAKER_1"), seq: 2 },
    { type: "segment", ...seg("1", 2, "fine thanks and you", "SPEAKER_1"), seq: 3 },
    // The diarizer learns more: segment 1 is split at a speaker change, 0 is kept.
    {
      type: "revision", final: false, seq: 4, removed: [], speakers: ["SPEAKER_1", "SPEAKER_2"],
      segments: [seg("1", 2, "fine thanks", "SPEAKER_2"), seg("1.1", 2.5, "and you", "SPEAKER_1")],
    },
    { type: "segment", ...seg("2", 4, "good", "SPEAKER_2"), seq: 5 },
    // Final pass: the split is undone (1.1 removed, 1 whole again).
    {
      type: "revision", final: true, seq: 6, removed: ["1.1"], speakers: ["SPEAKER_1", "SPEAKER_2"],
      segments: [seg("1", 2, "fine thanks and you", "SPEAKER_2")],
    },
  ];
  const changed = events.map((e) => model.apply(e));
  assert.deepEqual(changed, [false, true, true, true, true, true]);
  assert.deepEqual(
    model.segments.map((s) => [s.id, s.speaker, s.text]),
    [["0", "SPEAKER_1", "hello there"], ["1", "SPEAKER_2", "fine thanks and you"], ["2", "SPEAKER_2", "good"]],
  );
  assert.ok(model.segments.every((s) => !("seq" in s) && !("type" in s)));
  // Colours follow first appearance and stay when speakers come and go.
  assert.deepEqual(model.speakers(), ["SPEAKER_1", "SPEAKER_2"]);
  assert.notEqual(model.color("SPEAKER_1"), model.color("SPEAKER_2"));
  assert.deepEqual(model.lines()[1], { start: 2, end: 3, text: "fine thanks and you", speaker: "SPEAKER_2" });
});

test("pieces sort by position, not by text", () => {
  const model = new TranscriptModel();
  for (const id of ["10", "2", "2.1", "9", "2.10", "2.2"]) model.apply({ type: "segment", ...seg(id, 0, id) });
  assert.deepEqual(model.segments.map((s) => s.id), ["2", "2.1", "2.2", "2.10", "9", "10"]);
});

test("a result replaces everything, with its version", () => {
  const model = new TranscriptModel();
  model.apply({ type: "segment", ...seg("0", 0, "draft") });
  model.reset([seg("0", 0, "final", "Alice")], 3);
  assert.equal(model.version, 3);
  assert.deepEqual(model.speakers(), ["Alice"]);
});
