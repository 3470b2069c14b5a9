// The reading room, end to end in Debian's headless Chromium (run by `cargo xtask test`): a
// study of two series (2.5 mm and 5 mm, one frame of reference) and a prior study of the same
// patient, sealed into a static store and served by `obscura serve --demo`. Each tool is driven
// the way a reader does — mouse, keyboard, toolbar on a desktop; fingers on a tablet-sized touch
// screen — and checked in the viewer's state, in its pixels (GPU read-back against an
// independent LINEAR VOI) and in its measurement values (against values computed here from the
// plaintext DICOM). Screenshots go to OBSCURA_ARTIFACTS.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, slicePixels, voiLinear, state, waitFor, readBack, compare, requireEnv, touchGestures, unlockWithPassphrase } from './lib.mjs';

const env = (k) => requireEnv(k, 'cargo xtask test');
const URL_ = env('OBSCURA_URL');
const PLAIN = env('OBSCURA_PLAINTEXT');
const ARTIFACTS = env('OBSCURA_ARTIFACTS');
const SLICES = Number(env('OBSCURA_SLICES'));
const SPACING = 0.7; // mm, the synthetic CT's Pixel Spacing
const shot = (page, name) => page.screenshot({ path: path.join(ARTIFACTS, `reading-${name}.png`) });
const room = (s) => s.open.room;

async function openStudy(page, query = '') {
  await page.goto(URL_ + query);
  await unlockWithPassphrase(page);
  await waitFor(page, 'the study list', (s) => s.phase === 'list' && s.studies === 2, 120000);
  // the current study (2024), not its prior (2023)
  await page.locator('button.study', { hasText: '2024-03-01' }).click();
  return waitFor(page, 'both panes loaded', (s) => s.open && room(s).panes.every((p) => p.shown)
    && room(s).study.loaded >= SLICES + SLICES / 2, 120000);
}

// The centre of pane k, and a point offset from it, in page CSS px.
async function paneBox(page, k) {
  const b = await page.locator(`.pane[data-pane="${k}"]`).boundingBox();
  return { ...b, cx: b.x + b.width / 2, cy: b.y + b.height / 2 };
}

// Device-independent: the pane's image scale (CSS px per image px) from its zoom (100 % = 1
// image px per device px) and the device pixel ratio.
const cssPerImagePx = (pane, dpr) => pane.zoom / 100 / dpr;

test('desktop: layouts, hanging, sync, scroll, window, view, cine, measurements, help', { timeout: 600000 }, async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-reading-'));
  const { context, page, consoleLines } = await launchBrowser(profile, { viewport: { width: 1280, height: 800 } });
  try {
    let s = await openStudy(page);
    // 1. Default hanging: two series → 1×2, the current series left, the prior right.
    assert.equal(room(s).layout, '1x2');
    assert.equal(room(s).series.length, 3, `2 series + 1 prior: ${room(s).series}`);
    const prior = room(s).series.findIndex((l) => /prior 2023-03-01/.test(l));
    assert.ok(prior >= 0, 'the prior study is offered');
    assert.deepEqual(room(s).panes.map((p) => p.series), [0, prior], 'current left, prior right');
    await shot(page, '01-hanging');

    // 2. Scroll pane 0 with the wheel: the prior (another frame of reference) stays put.
    const p0 = await paneBox(page, 0);
    await page.mouse.move(p0.cx, p0.cy);
    for (let k = 0; k < 6; k++) await page.mouse.wheel(0, 100);
    s = await waitFor(page, 'pane 0 at slice 7', (s) => room(s).panes[0].slice === 6);
    assert.equal(room(s).panes[1].slice, 0, 'a series of another frame of reference does not follow');

    // 3. The 5 mm series dropped into pane 1 (drag and drop a thumbnail) follows pane 0.
    const p1 = await paneBox(page, 1);
    await page.locator('#thumbnails .thumb[data-series="1"]').dragTo(page.locator('#canvas'), {
      targetPosition: { x: p1.cx - (await page.locator('#canvas').boundingBox()).x, y: p1.cy - (await page.locator('#canvas').boundingBox()).y },
    });
    s = await waitFor(page, 'series 2 in pane 1', (s) => room(s).panes[1].series === 1);
    await page.mouse.move(p0.cx, p0.cy);
    await page.mouse.wheel(0, 100); // pane 0 active again, slice 8 (z of 2.5 mm slice 7 = 5 mm slice 3.5 → nearest)
    s = await waitFor(page, 'sync', (s) => room(s).panes[0].slice === 7);
    // 2.5 mm slice i lies at the z of 5 mm slice i/2 (both stacks start at the same z)
    const z = (i, step, n) => (n - 1 - i) * step;
    const expected = [...Array(SLICES / 2).keys()].reduce((best, j) =>
      Math.abs(z(j, 5, SLICES / 2) - z(7, 2.5, SLICES)) < Math.abs(z(best, 5, SLICES / 2) - z(7, 2.5, SLICES)) ? j : best, 0);
    assert.equal(room(s).panes[1].slice, expected, 'the 5 mm pane shows the nearest slice');
    await shot(page, '02-sync');

    // 4. Keyboard scrolling on the active pane (a click makes pane 0 active again).
    await page.mouse.click(p0.cx, p0.cy);
    await waitFor(page, 'pane 0 active', (s) => room(s).active === 0);
    await page.keyboard.press('Home');
    s = await waitFor(page, 'Home', (s) => room(s).panes[0].slice === 0);
    await page.keyboard.press('PageDown');
    s = await waitFor(page, 'Page Down', (s) => room(s).panes[0].slice === Math.max(1, Math.round(SLICES / 10)));
    await page.keyboard.press('ArrowDown');
    s = await waitFor(page, 'ArrowDown', (s) => room(s).panes[0].slice === Math.max(1, Math.round(SLICES / 10)) + 1);
    await page.keyboard.press('End');
    s = await waitFor(page, 'End', (s) => room(s).panes[0].slice === SLICES - 1);
    await page.keyboard.press('Home');
    s = await waitFor(page, 'Home again', (s) => room(s).panes[0].slice === 0 && s.open.shown === 0);

    // 5. Window (on a slice through the lungs): a preset key, the pixels drawn with it; a left drag;
    // the image's own window; invert.
    const W = Math.round(SLICES * 0.3);
    for (let k = 0; k < W; k++) await page.keyboard.press('ArrowDown');
    s = await waitFor(page, `slice ${W + 1}`, (s) => room(s).panes[0].slice === W && s.open.shown === W);
    const lungs = slicePixels(PLAIN, W + 1).values;
    await page.keyboard.press('4');
    s = await waitFor(page, 'lung preset', (s) => room(s).panes[0].window[0] === -600 && room(s).panes[0].window[1] === 1500 && s.open.shown === W);
    compare(await readBack(page), voiLinear(lungs, -600, 1500), 'lung window', 6);
    await page.mouse.move(p0.cx, p0.cy);
    await page.mouse.down();
    await page.mouse.move(p0.cx + 60, p0.cy + 40, { steps: 4 });
    await page.mouse.up();
    s = await state(page);
    const [c1, w1] = room(s).panes[0].window;
    assert.ok(w1 > 1500 && c1 > -600, `a drag right/down widens and raises: ${[c1, w1]}`);
    compare(await readBack(page), voiLinear(lungs, c1, w1), 'after the drag', 6);
    await page.keyboard.press('0');
    s = await waitFor(page, 'image window', (s) => room(s).panes[0].window[1] !== w1);
    await page.keyboard.press('i');
    s = await waitFor(page, 'invert', (s) => room(s).panes[0].invert === true);
    const [ci, wi] = room(s).panes[0].window;
    compare(await readBack(page), voiLinear(lungs, ci, wi).map((v) => 255 - v), 'inverted', 6);
    await page.click('button[data-command="invert"]');
    s = await waitFor(page, 'invert off (toolbar)', (s) => room(s).panes[0].invert === false);

    // 6. View: zoom (Ctrl+wheel, right drag), pan (middle drag), 1:1, fit, rotate, flip, reset.
    const z0 = room(s).panes[0].zoom;
    await page.mouse.move(p0.cx, p0.cy);
    await page.keyboard.down('Control');
    await page.mouse.wheel(0, -200);
    await page.keyboard.up('Control');
    s = await waitFor(page, 'zoom in', (s) => room(s).panes[0].zoom > z0 * 1.1);
    const z1 = room(s).panes[0].zoom;
    await page.mouse.move(p0.cx, p0.cy);
    await page.mouse.down({ button: 'right' });
    await page.mouse.move(p0.cx, p0.cy - 80, { steps: 4 });
    await page.mouse.up({ button: 'right' });
    s = await waitFor(page, 'right-drag zoom', (s) => room(s).panes[0].zoom > z1 * 1.1);
    const c0 = room(s).panes[0].centre;
    await page.mouse.move(p0.cx, p0.cy);
    await page.mouse.down({ button: 'middle' });
    await page.mouse.move(p0.cx + 50, p0.cy + 30, { steps: 4 });
    await page.mouse.up({ button: 'middle' });
    // the image follows the pointer (the few px within the click slop included or not)
    s = await waitFor(page, 'pan', (s) => Math.abs(room(s).panes[0].centre[0] - c0[0] - 50) < 5 && Math.abs(room(s).panes[0].centre[1] - c0[1] - 30) < 5);
    await shot(page, '03-zoom-pan');
    await page.keyboard.press('o');
    s = await waitFor(page, '1:1', (s) => Math.abs(room(s).panes[0].zoom - 100) < 0.01);
    await page.keyboard.press('f');
    s = await waitFor(page, 'fit', (s) => room(s).panes[0].fitted);
    await page.keyboard.press(']');
    s = await waitFor(page, 'rotate', (s) => room(s).panes[0].quarterTurns === 1);
    await page.click('button[data-command="flip-h"]');
    s = await waitFor(page, 'flip', (s) => room(s).panes[0].flipH === true);
    await shot(page, '04-rotated-flipped');
    // orientation letters follow: an axial slice rotated 90° clockwise then mirrored shows A on the left
    const letters = await page.evaluate(() => [...document.querySelectorAll('.pane[data-pane="0"] .marker')].map((m) => m.textContent));
    assert.deepEqual(letters, ['R', 'P', 'L', 'A'], `orientation markers top/right/bottom/left: ${letters}`);
    await page.keyboard.press('r');
    s = await waitFor(page, 'reset', (s) => room(s).panes[0].quarterTurns === 0 && !room(s).panes[0].flipH && room(s).panes[0].fitted);

    // 7. Cine.
    await page.keyboard.press('c');
    s = await waitFor(page, 'cine plays', (s) => room(s).panes[0].cine && room(s).panes[0].slice > 2, 10000);
    await page.keyboard.press('c');
    s = await waitFor(page, 'cine stops', (s) => !room(s).panes[0].cine);
    await page.keyboard.press('Home');
    s = await waitFor(page, 'slice 1', (s) => room(s).panes[0].slice === 0 && s.open.shown === 0);

    // 8. Measurements on slice 1 (pane 0), checked against the plaintext pixels.
    const dpr = await page.evaluate(() => devicePixelRatio);
    const scale = cssPerImagePx(room(s).panes[0], dpr);
    const values = slicePixels(PLAIN, 1).values;
    // length: a horizontal drag of 140 CSS px is 140 / scale image px
    await page.keyboard.press('l');
    await page.mouse.move(p0.cx - 70, p0.cy);
    await page.mouse.down();
    await page.mouse.move(p0.cx + 70, p0.cy, { steps: 5 });
    await page.mouse.up();
    s = await waitFor(page, 'a length', (s) => room(s).panes[0].measurements.length === 1);
    let m = room(s).panes[0].measurements[0];
    const [[ax, ay], [bx, by]] = m.handles;
    const mm = Math.hypot(bx - ax, by - ay) * SPACING;
    assert.ok(Math.abs(Math.hypot(bx - ax, by - ay) - 140 / scale) < 1.5, `drag of 140 px = ${140 / scale} image px: ${m.handles}`);
    assert.equal(m.lines[0], `${mm.toFixed(1)} mm`);
    // rectangle ROI: mean/SD/min/max of the HU whose pixel centres are inside, computed here
    await page.keyboard.press('b');
    await page.mouse.move(p0.cx - 40, p0.cy - 30);
    await page.mouse.down();
    await page.mouse.move(p0.cx + 40, p0.cy + 30, { steps: 5 });
    await page.mouse.up();
    s = await waitFor(page, 'a box', (s) => room(s).panes[0].measurements.length === 2);
    m = room(s).panes[0].measurements[1];
    const [x0, x1] = [Math.min(m.handles[0][0], m.handles[2][0]), Math.max(m.handles[0][0], m.handles[2][0])];
    const [y0, y1] = [Math.min(m.handles[0][1], m.handles[2][1]), Math.max(m.handles[0][1], m.handles[2][1])];
    const hu = [];
    for (let j = Math.ceil(y0 - 0.5); j <= Math.floor(y1 - 0.5); j++) {
      for (let i = Math.ceil(x0 - 0.5); i <= Math.floor(x1 - 0.5); i++) hu.push(values[j * 512 + i] - 1024);
    }
    const mean = hu.reduce((a, b) => a + b, 0) / hu.length;
    const sd = Math.sqrt(hu.reduce((a, b) => a + (b - mean) ** 2, 0) / hu.length);
    assert.match(m.lines[0], new RegExp(`^Mean: ${mean.toFixed(1)} HU SD: ${sd.toFixed(1)} HU$`));
    assert.match(m.lines[1], new RegExp(`^Min: ${Math.min(...hu).toFixed(1)} HU Max: ${Math.max(...hu).toFixed(1)} HU$`));
    assert.match(m.lines[2], new RegExp(`\\(${hu.length} px\\)$`));
    // ellipse ROI and probe
    await page.keyboard.press('e');
    await page.mouse.move(p0.cx - 120, p0.cy + 60);
    await page.mouse.down();
    await page.mouse.move(p0.cx - 60, p0.cy + 100, { steps: 5 });
    await page.mouse.up();
    s = await waitFor(page, 'an ellipse', (s) => room(s).panes[0].measurements.length === 3);
    assert.match(room(s).panes[0].measurements[2].lines.at(-1), /^Area: [\d.]+ mm² \(\d+ px\)$/);
    await page.keyboard.press('p');
    await page.mouse.click(p0.cx + 100, p0.cy - 50);
    s = await waitFor(page, 'a probe', (s) => room(s).panes[0].measurements.length === 4);
    m = room(s).panes[0].measurements[3];
    const [px, py] = m.handles[0].map(Math.floor);
    assert.equal(m.lines[0], `(${px}, ${py}) SV: ${values[py * 512 + px]} MV: ${(values[py * 512 + px] - 1024).toFixed(1)} HU`);
    // angle, point by point: click, click, click
    await page.keyboard.press('a');
    await page.mouse.click(p0.cx - 100, p0.cy + 150);
    await page.mouse.move(p0.cx - 50, p0.cy + 100, { steps: 3 });
    await page.mouse.click(p0.cx - 50, p0.cy + 100);
    await page.mouse.move(p0.cx + 20, p0.cy + 150, { steps: 3 });
    await page.mouse.click(p0.cx + 20, p0.cy + 150);
    s = await waitFor(page, 'an angle', (s) => room(s).panes[0].measurements.length === 5);
    m = room(s).panes[0].measurements[4];
    const [a, v, b] = m.handles;
    const deg = Math.abs((Math.atan2(b[1] - v[1], b[0] - v[0]) - Math.atan2(a[1] - v[1], a[0] - v[0])) * 180 / Math.PI);
    assert.equal(m.lines[0], `${(deg > 180 ? 360 - deg : deg).toFixed(1)}°`);
    await page.keyboard.press('Escape'); // put the tool down
    await shot(page, '05-measurements');
    const labels = await page.locator('.pane[data-pane="0"] .label').count();
    assert.equal(labels, 5, 'every measurement has its label');
    // select the length by clicking its middle, and delete it
    await page.mouse.click(p0.cx, p0.cy);
    s = await state(page);
    await page.keyboard.press('Delete');
    s = await waitFor(page, 'deleted', (s) => room(s).panes[0].measurements.length === 4);
    assert.ok(!room(s).panes[0].measurements.some((x) => x.lines[0] === `${mm.toFixed(1)} mm`), 'the length is gone');

    // 9. A lost GPU device is rebuilt and every pane drawn again, without reloading the study.
    const before = await readBack(page);
    const rebuilds = (await state(page)).gpuRebuilds;
    await page.evaluate(() => window.obscura.loseGpu());
    // nothing else happens on the page: the viewer notices the loss by itself
    s = await waitFor(page, 'the GPU rebuilt', (s) => s.gpuRebuilds > rebuilds, 30000);
    s = await waitFor(page, 'the panes after the GPU came back', (s) => room(s).panes.every((p) => p.shown), 30000);
    assert.deepEqual(await readBack(page), before, 'the same pixels after the device was rebuilt');
    assert.equal(room(s).panes[0].measurements.length, 4, 'measurements survive');

    // 10. Help lists every binding; layouts 2×2 and 1×1.
    await page.keyboard.press('?');
    await waitFor(page, 'help', (s) => room(s).help);
    await page.waitForSelector('#help', { state: 'visible', timeout: 5000 });
    const rows = await page.locator('#help tr').count();
    assert.ok(rows >= 30, `the help lists the bindings (${rows} rows)`);
    assert.match(await page.textContent('#help'), /Pinch/);
    await shot(page, '06-help');
    await page.keyboard.press('?');
    await page.click('button[data-layout="2x2"]');
    s = await waitFor(page, '2×2', (s) => room(s).layout === '2x2' && room(s).panes.length === 4);
    await waitFor(page, 'the third pane shows a series', (s) => room(s).panes[2].series !== null && room(s).panes[2].shown, 60000);
    await shot(page, '07-2x2');
    await page.click('button[data-layout="1x1"]');
    s = await waitFor(page, '1×1', (s) => room(s).layout === '1x1' && room(s).panes.length === 1);
    assert.ok(!consoleLines.some((l) => l.startsWith('pageerror')), `no page error: ${consoleLines.filter((l) => l.startsWith('pageerror'))}`);
  } finally {
    fs.writeFileSync(path.join(ARTIFACTS, 'reading-desktop-console.log'), consoleLines.join('\n'));
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});

test('tablet (768×1024, touch): swipe, pinch, two-finger pan, hold-drag window, tap a thumbnail, budget', { timeout: 600000 }, async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-reading-tablet-'));
  const { context, page, consoleLines } = await launchBrowser(profile, {
    viewport: { width: 768, height: 1024 }, deviceScaleFactor: 2, touch: true,
  });
  try {
    let s = await openStudy(page);
    assert.equal(room(s).cache.budget, 384 * 1024 * 1024, 'a tablet keeps at most 384 MiB of cleartext');
    // responsive: the thumbnails sit above the panes, the toolbar's targets are large
    const nav = await page.locator('#thumbnails').boundingBox();
    const area = await page.locator('#area').boundingBox();
    assert.ok(nav.y + nav.height <= area.y + 1, 'thumbnails above the panes');
    const smallest = await page.evaluate(() => Math.min(...[...document.querySelectorAll('.toolbar button')].map((b) => b.getBoundingClientRect().height)));
    assert.ok(smallest >= 44, `touch targets ≥ 44 px (${smallest})`);
    await shot(page, '10-tablet');
    const g = await touchGestures(page);
    const p0 = await paneBox(page, 0);
    // one-finger swipe down: forward through the stack
    await g.swipe([p0.cx, p0.cy - 100], 120, { steps: 10 });
    s = await waitFor(page, 'swipe scrolls', (s) => room(s).panes[0].slice >= 5);
    // pinch out: zoom in
    const z0 = room(s).panes[0].zoom;
    await g.pinch([p0.cx, p0.cy], 80, 200, { steps: 8 });
    s = await waitFor(page, 'pinch zooms', (s) => room(s).panes[0].zoom > z0 * 1.5);
    // two fingers together: pan
    const c0 = room(s).panes[0].centre;
    await g.pan2([p0.cx, p0.cy], [40, 60], { steps: 8 });
    s = await waitFor(page, 'two-finger pan', (s) => Math.abs(room(s).panes[0].centre[1] - c0[1]) > 30);
    // hold still, then drag: window/level
    const w0 = room(s).panes[0].window;
    await g.holdDrag([p0.cx, p0.cy], [50, 40], 700, { steps: 6 });
    s = await waitFor(page, 'hold-drag windows', (s) => room(s).panes[0].window[1] > w0[1]);
    const slice = room(s).panes[0].slice;
    compare(await readBack(page), voiLinear(slicePixels(PLAIN, slice + 1).values, ...[room(s).panes[0].window[0], room(s).panes[0].window[1]]), 'after touch W/L', 6);
    // tap a thumbnail: it goes to the active pane
    await page.locator('#thumbnails .thumb[data-series="1"]').tap();
    s = await waitFor(page, 'tapped series shown', (s) => room(s).panes[room(s).active].series === 1);
    await shot(page, '11-tablet-gestures');
    assert.ok(!consoleLines.some((l) => l.startsWith('pageerror')));
  } finally {
    fs.writeFileSync(path.join(ARTIFACTS, 'reading-tablet-console.log'), consoleLines.join('\n'));
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});

test('WebGL2: a lost context is restored and every pane drawn again, without reloading the study', { timeout: 300000 }, async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'obscura-reading-'));
  const { context, page, consoleLines } = await launchBrowser(profile, { viewport: { width: 1280, height: 800 } });
  try {
    let s = await openStudy(page, '?gpu=webgl');
    assert.equal(s.backend, 'webgl2');
    const before = await readBack(page);
    const rebuilds = s.gpuRebuilds;
    // What a GPU reset does to a page: the context is lost, and the browser restores it a moment
    // later (here the WEBGL_lose_context extension plays the browser).
    await page.evaluate(() => {
      const lose = document.getElementById('canvas').getContext('webgl2').getExtension('WEBGL_lose_context');
      lose.loseContext();
      setTimeout(() => lose.restoreContext(), 500);
    });
    s = await waitFor(page, 'the GPU rebuilt', (s) => s.gpuRebuilds > rebuilds, 30000);
    s = await waitFor(page, 'the panes after the context came back', (s) => room(s).panes.every((p) => p.shown), 30000);
    assert.equal(s.backend, 'webgl2');
    assert.deepEqual(await readBack(page), before, 'the same pixels after the context was restored');
    assert.ok(!consoleLines.some((l) => l.startsWith('pageerror')), `no page error: ${consoleLines.filter((l) => l.startsWith('pageerror'))}`);
  } finally {
    fs.writeFileSync(path.join(ARTIFACTS, 'reading-webgl-console.log'), consoleLines.join('\n'));
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});
