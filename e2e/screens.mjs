// Screenshots of every role's pages at a service-hall PC's size (1366×768) and a phone's (390×844), to look
// at them as their users would: `ONETHING_BIN=target/debug/onething node e2e/screens.mjs [OUT_DIR]`.
// It files a close-company case through the API (one returned for correction, one accepted) so the desks
// have something on them, then visits each page as its role and writes OUT_DIR/<role>-<page>-<width>.png
// (default /tmp/onething-screens). It also reports pages wider than the viewport (horizontal overflow).

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const out = process.argv[2] || '/tmp/onething-screens';
const PASSWORD = 'screens-demo-password';
mkdirSync(out, { recursive: true });

const dataDir = mkdtempSync(join(tmpdir(), 'onething-screens-'));
const child = spawn(process.env.ONETHING_BIN, ['serve', '--demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
  cwd: root,
  env: { ...process.env, ONETHING_DEMO_PASSWORD: PASSWORD, RUST_LOG: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const base = await new Promise((ok, fail) => {
  child.on('exit', (code) => fail(new Error(`the server exited with ${code}`)));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const m = line.match(/onething listening on (http:\/\/\S+)/);
    if (m) ok(m[1]);
  });
});

async function api(method, path, token, body, raw) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  if (body !== undefined && !raw) headers['content-type'] = 'application/json';
  const r = await fetch(base + path, { method, headers, body: raw ? body : body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
const token = async (u) => (await api('POST', '/api/v1/sessions', null, { username: u, password: PASSWORD })).token;
const pdf = (label) => `%PDF-1.4\n% ${label}\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n`;
const closeForm = {
  company_name: '聊城市旧时光商贸有限公司', credit_code: '91330100799655058B', legal_rep_name: '白先生',
  legal_rep_id: '440524188001010014', contact_phone: '13806351234', deregistration_reason: '解散', has_seals_on_file: true,
};
async function fileCase(t) {
  const c = await api('POST', '/api/v1/cases', t, {
    bundle: 'close-company',
    applicant: { kind: 'company', name: '聊城市旧时光商贸有限公司', credit_code: '91330100799655058B' },
    form: closeForm,
  });
  for (const m of c.materials || []) await api('PUT', `/api/v1/cases/${c.id}/materials/${m.code}`, t, pdf(m.code), true);
  return c;
}
const applicantToken = await token('applicant');
const clerkToken = await token('clerk');
const returned = await fileCase(applicantToken);
await api('POST', `/api/v1/cases/${returned.id}/submit`, applicantToken, {});
const firstMaterial = returned.materials?.[0]?.code;
await api('POST', `/api/v1/cases/${returned.id}/return`, clerkToken, { reasons: [{ material: firstMaterial, reason: '印章不清晰，请重新上传' }] });
const resubmitted = await fileCase(applicantToken);
await api('POST', `/api/v1/cases/${resubmitted.id}/submit`, applicantToken, {});
await api('POST', `/api/v1/cases/${resubmitted.id}/return`, clerkToken, { reasons: [{ material: firstMaterial, reason: '印章不清晰，请重新上传' }] });
await api('PUT', `/api/v1/cases/${resubmitted.id}/materials/${firstMaterial}`, applicantToken, pdf('again'), true);
await api('POST', `/api/v1/cases/${resubmitted.id}/submit`, applicantToken, {});
const accepted = await fileCase(applicantToken);
await api('POST', `/api/v1/cases/${accepted.id}/submit`, applicantToken, {});
await api('POST', `/api/v1/cases/${accepted.id}/accept`, clerkToken, {});
const taxToken = await token('officer-tax');
const tasks = await api('GET', '/api/v1/tasks', taxToken);
const task = Array.isArray(tasks) ? tasks[0] : undefined;

const pages = {
  applicant: ['/', '/bundles/close-company', '/cases', `/cases/${returned.id}`, `/cases/${returned.id}/materials`, `/cases/${accepted.id}`],
  clerk: ['/clerk', `/cases/${returned.id}`, `/cases/${resubmitted.id}`, `/cases/${accepted.id}/receipt`],
  'officer-tax': ['/officer', ...(task ? [`/officer/tasks/${task.id}`] : [])],
  supervisor: ['/supervisor', '/supervisor/escalations', '/supervisor/projects', '/supervisor/assessment', `/cases/${accepted.id}`],
  admin: ['/'],
  anonymous: ['/login', '/track', `/track?number=${accepted.number}&check=058b`],
};
for (const extra of (process.env.SCREENS_EXTRA || '').split(',').filter(Boolean)) {
  const [role, path] = extra.split(':');
  (pages[role] ||= []).push(path);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});
const overflow = [];
try {
  for (const [role, paths] of Object.entries(pages)) {
    for (const width of [1366, 390]) {
      const context = await browser.newContext({ locale: 'zh-CN', viewport: { width, height: width === 390 ? 844 : 768 } });
      const page = await context.newPage();
      if (role !== 'anonymous') {
        await page.goto(`${base}/login`);
        await page.getByLabel('用户名').fill(role);
        await page.getByLabel('密码').fill(PASSWORD);
        await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.getByRole('button', { name: '登录' }).click()]);
      }
      for (const [i, path] of paths.entries()) {
        const response = await page.goto(base + path);
        const name = path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'ID').replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '') || 'home';
        const file = join(out, `${role}-${i}-${name}-${width}.png`);
        await page.screenshot({ path: file, fullPage: true });
        const wide = await page.evaluate(() => document.documentElement.scrollWidth);
        if (wide > width) overflow.push(`${role} ${path} at ${width}: ${wide}px wide`);
        console.log(`${response?.status()} ${file}`);
      }
      await context.close();
    }
  }
} finally {
  await browser.close();
  child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(overflow.length ? `horizontal overflow:\n  ${overflow.join('\n  ')}` : 'no horizontal overflow');
