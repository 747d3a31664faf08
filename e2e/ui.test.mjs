// The whole life of an `open-transport-company` case through the web UI, in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core; never a browser download): the applicant files and uploads, the
// clerk returns it for correction, the applicant corrects, the clerk accepts, both officers approve, the
// applicant sees the three results, and the supervisor sees the colours. Screenshots of the four role pages go
// to docs/screenshots/.
//
// It builds nothing: ONETHING_BIN names the built `onething` binary. Run it with `bash e2e/run.sh`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const shots = join(root, 'docs', 'screenshots');
const PASSWORD = 'e2e-demo-password';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** Starts `onething serve --demo` on port 0; resolves with its base URL once it listens. */
function startServer() {
  const bin = process.env.ONETHING_BIN;
  assert.ok(bin, 'set ONETHING_BIN to the built onething binary');
  const dataDir = mkdtempSync(join(tmpdir(), 'onething-e2e-'));
  const child = spawn(bin, ['serve', '--demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    cwd: root,
    env: { ...process.env, ONETHING_DEMO_PASSWORD: PASSWORD, RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('the server did not listen within 60 s')), 60_000);
    child.on('exit', (code) => fail(new Error(`the server exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = line.match(/onething listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
  });
  const stop = () => {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { url, stop };
}

const pdf = (label) => Buffer.from(`%PDF-1.4\n% ${label}\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n`);
const png = () => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('\0\0\0\rIHDR fake image body')]);

const FORM = {
  f_legal_rep_name: '王建国',
  f_legal_rep_id: '11010519491231002X',
  f_contact_phone: '13806351234',
  f_agent_name: '李敏',
  f_agent_id: '110101199003074477',
  f_business_address: '聊城市东昌府区建设路1号',
  f_business_scope: 'ordinary_cargo',
  f_vehicle_count: '3',
  f_parking_address: '聊城市东昌府区物流园',
  f_plate_number: '鲁P12345',
  f_vehicle_type: 'truck',
};

/** A signed-in page of its own browser context (cookies are per context), in Chinese. */
async function signIn(browser, base, username) {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码').fill(PASSWORD);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.getByRole('button', { name: '登录' }).click()]);
  return page;
}

/** Fills the approval form's result fields with values of their type, then approves. */
async function approveTask(page) {
  const form = page.locator('form[action$="/approve"]');
  for (const input of await form.locator('[data-type]').all()) {
    const type = await input.getAttribute('data-type');
    const tag = await input.evaluate((e) => e.tagName);
    if (tag === 'SELECT') {
      const values = await input.locator('option').evaluateAll((os) => os.map((o) => o.value).filter(Boolean));
      await input.selectOption(values[0]);
      continue;
    }
    const value = {
      id_number: '11010519491231002X',
      credit_code: '91440300708461136T',
      phone: '13806351234',
      email: 'office@example.cn',
      date: '2026-01-15',
      number: '30',
    }[type] ?? '核验通过';
    await input.fill(value);
  }
  await Promise.all([page.waitForURL(/\/officer\/tasks\/[^/]+$/), form.locator('button[type=submit]').click()]);
  await assert.doesNotReject(page.locator('#task-state', { hasText: '准予' }).waitFor());
}

test('open-transport-company: file, correct, accept, three approvals, results, supervision', { timeout: 240_000 }, async () => {
  mkdirSync(shots, { recursive: true });
  const server = startServer();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const base = await server.url;

    // The applicant picks the bundle on the portal: the reduction report is there.
    const applicant = await signIn(browser, base, 'applicant');
    assert.equal(new URL(applicant.url()).pathname, '/');
    const card = applicant.locator('section.card', { has: applicant.locator('a[href="/bundles/open-transport-company"]') });
    await assert.doesNotReject(card.getByText('开办运输企业一件事').first().waitFor());
    assert.match(await card.locator('table.reduction').innerText(), /18\s+12/);
    await applicant.locator('a.button[href="/bundles/open-transport-company"]').click();

    // Step 1: situation questions first, then who applies.
    await applicant.getByRole('radio', { name: '是，由经办人办理' }).check();
    await applicant.getByLabel('申请人名称（企业名称或姓名）').fill('聊城市鸿运物流有限公司');
    await applicant.getByLabel('统一社会信用代码（企业）').fill('91440300708461136T');
    await Promise.all([applicant.waitForURL(/\/cases\/[^/]+\/form$/), applicant.getByRole('button', { name: '下一步：填写表单' }).click()]);
    const caseId = applicant.url().split('/cases/')[1].split('/')[0];

    // Step 2: the integrated form; a wrong phone number is shown next to its field, then fixed.
    for (const [name, value] of Object.entries(FORM)) {
      const field = applicant.locator(`[name="${name}"]`);
      if ((await field.count()) === 0) continue;
      if ((await field.evaluate((e) => e.tagName)) === 'SELECT') await field.selectOption(value);
      else await field.fill(name === 'f_contact_phone' ? '12345' : value);
    }
    await applicant.getByRole('button', { name: /保存，下一步/ }).click();
    await assert.doesNotReject(applicant.locator('#f_contact_phone-err', { hasText: '电话号码不正确' }).waitFor());
    await applicant.locator('#f_contact_phone').fill(FORM.f_contact_phone);
    await Promise.all([applicant.waitForURL(/\/materials$/), applicant.getByRole('button', { name: /保存，下一步/ }).click()]);

    // Step 3: one upload per material (htmx swaps each row); the page says why the others are not asked for.
    const rows = await applicant.locator('tr.material-row').all();
    assert.equal(rows.length, 12, 'twelve materials');
    for (const row of rows) {
      const code = (await row.getAttribute('id')).slice(2);
      await row.locator('input[type=file]').setInputFiles({ name: `${code}.pdf`, mimeType: 'application/pdf', buffer: pdf(code) });
      await row.locator('button[type=submit]').click();
      await applicant.locator(`#m-${code}`, { hasText: '已上传' }).waitFor();
    }
    await assert.doesNotReject(applicant.getByText('通过数据共享获取').first().waitFor());
    await applicant.getByRole('link', { name: '下一步：核对并提交' }).click();

    // Step 4: review, submit.
    await applicant.getByText('材料齐全，表单已填好，可以提交。').waitFor();
    await Promise.all([applicant.waitForURL(new RegExp(`/cases/${caseId}$`)), applicant.getByRole('button', { name: '提交申请' }).click()]);
    assert.equal(await applicant.locator('#case-state').getAttribute('data-state'), 'submitted');
    const number = (await applicant.locator('#case-number').innerText()).trim();
    assert.match(number, /^YJS\d{8}\d{6}$/);

    // The clerk finds it in the queue, checks it and returns it for one material.
    const clerk = await signIn(browser, base, 'clerk');
    assert.equal(new URL(clerk.url()).pathname, '/clerk');
    await clerk.getByRole('link', { name: number }).first().click();
    await clerk.getByText('表单有效、材料齐全。').waitFor();
    await clerk.screenshot({ path: join(shots, 'clerk.png') });
    await clerk.locator('#reason_m_vehicle-photo').fill('照片不清晰，请重新上传');
    await Promise.all([clerk.waitForURL(new RegExp(`/cases/${caseId}$`)), clerk.locator('#return').click()]);
    assert.equal(await clerk.locator('#case-state').getAttribute('data-state'), 'returned');

    // The applicant sees the correction on "my cases", uploads a new photo and resubmits.
    await applicant.goto(`${base}/cases`);
    await applicant.getByRole('link', { name: number }).click();
    await applicant.getByText('照片不清晰，请重新上传').first().waitFor();
    await applicant.getByRole('link', { name: '上传材料' }).click();
    const photo = applicant.locator('#m-vehicle-photo');
    await photo.getByText('需补正').waitFor();
    await photo.locator('input[type=file]').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: png() });
    await photo.locator('button[type=submit]').click();
    await applicant.locator('#m-vehicle-photo', { hasText: 'image/png' }).waitFor();
    await applicant.getByRole('link', { name: '下一步：核对并提交' }).click();
    await Promise.all([applicant.waitForURL(new RegExp(`/cases/${caseId}$`)), applicant.getByRole('button', { name: '补正后重新提交' }).click()]);
    assert.equal(await applicant.locator('#case-state').getAttribute('data-state'), 'submitted');

    // The clerk accepts: a receipt with the case number and the promised deadline.
    await clerk.goto(`${base}/clerk`);
    await clerk.getByRole('link', { name: number }).first().click();
    await Promise.all([clerk.waitForURL(/\/receipt$/), clerk.locator('#accept').click()]);
    assert.match(await clerk.locator('#receipt-number').innerText(), /^SL\d{14}$/);
    assert.match(await clerk.locator('#receipt-due').innerText(), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    await assert.doesNotReject(clerk.getByText(number).first().waitFor());

    // The supervisor sees the open task with its colour, in words too.
    const supervisor = await signIn(browser, base, 'supervisor');
    assert.equal(new URL(supervisor.url()).pathname, '/supervisor');
    const counts = await supervisor.locator('#counts').innerText();
    assert.match(counts, /正常/);
    assert.match(counts, /预警/);
    assert.match(counts, /超期/);
    await supervisor.screenshot({ path: join(shots, 'supervisor.png') });

    // The approval office verifies the business licence (only its item's fields are shown).
    const approval = await signIn(browser, base, 'officer-approval');
    assert.equal(new URL(approval.url()).pathname, '/officer');
    await approval.getByRole('link', { name: number }).click();
    await approval.getByText('只显示本事项用到的栏目和材料。').waitFor();
    assert.equal(await approval.getByText('鲁P12345').count(), 0, 'the plate number is not this item\'s');
    await approval.screenshot({ path: join(shots, 'officer.png') });
    await approveTask(approval);

    // The transport office: the permit, then the certificate it unlocks.
    const transport = await signIn(browser, base, 'officer-transport');
    for (let i = 0; i < 2; i++) {
      await transport.goto(`${base}/officer`);
      await transport.getByRole('link', { name: number }).first().click();
      await approveTask(transport);
    }

    // The applicant sees the case concluded with three results.
    await applicant.goto(`${base}/cases/${caseId}`);
    assert.equal(await applicant.locator('#case-state').getAttribute('data-state'), 'concluded');
    assert.equal(await applicant.locator('section.result').count(), 3);
    await applicant.screenshot({ path: join(shots, 'applicant.png'), fullPage: true });

    // The supervisor drills down to the case and its event history; English is a click away.
    await supervisor.goto(`${base}/cases/${caseId}`);
    const log = await supervisor.locator('table').last().innerText();
    for (const kind of ['创建申请', '窗口退回补正', '补正后重新提交', '受理', '部门准予']) assert.match(log, new RegExp(kind));
    await supervisor.getByRole('link', { name: 'English' }).click();
    await supervisor.getByRole('heading', { name: 'Progress' }).waitFor();
    await supervisor.goto(`${base}/supervisor`);
    await supervisor.getByRole('heading', { name: 'Supervision · deadlines' }).waitFor();
  } finally {
    await browser.close();
    server.stop();
  }
});
