/*
 * The Kakuin operator console: a client of the operator API
 * (/operator/v1/) and nothing else. The token lives in this tab's
 * sessionStorage only; every text from the server goes into the page
 * through textContent, never as markup.
 */
"use strict";

const API = "/operator/v1";
const TOKEN_KEY = "kakuin.token";
const LANG_KEY = "kakuin.lang";

const STRINGS = {
	en: {
		title: "Kakuin operator console",
		queue: "Queue", orgs: "Organizations", certs: "Certificates", audit: "Audit log",
		signin: "Sign in", signout: "Sign out", token: "Operator token",
		signinNote: "The token stays in this tab only and is forgotten when it closes.",
		badToken: "This token is not valid.",
		other: "日本語",
		role_operator: "operator", role_auditor: "auditor (read only)",
		queueEmpty: "No verification is waiting.",
		org: "Organization", account: "Account", contacts: "Contacts", requested: "Requested",
		age: "Waiting", status: "Status", approvals: "Approvals", id: "Id",
		decided: "Decided", reason: "Reason", history: "Earlier verifications of this organization",
		noHistory: "None.",
		registry: "Corporate-number registry", regName: "Name", regAddress: "Address",
		approve: "Approve", reject: "Reject", method: "Method", phone: "Phone call",
		document: "Documents", legalName: "Legal name (certificate O)", country: "Country",
		evidence: "Evidence", overrideReason: "Reason the legal name differs from the registry (if it does)",
		files: "Documents (PDF, PNG, JPEG; 5 MiB each)", attachments: "Attachments",
		noAttachments: "No documents attached.", download: "Download",
		rejectReason: "Reason (the client sees it)",
		approvedBy: "Approved by {op} ({method}) at {at}",
		awaitingSecond: "Dual control: waiting for a second, different operator ({n} of {m}).",
		complete: "Verified.",
		uploaded: "Uploading {name}…", approved: "Approved.", rejected: "Rejected.",
		legalNameLabel: "Legal name", expires: "Verification expires", verifiedAt: "Verified at",
		suspend: "Suspend", suspendReason: "Reason", revokeCerts: "Also revoke its certificates",
		suspended: "Suspended: {o} orders invalidated, {a} authorizations revoked, {c} certificates revoked.",
		domains: "Domains", noDomains: "No domains.",
		eab: "EAB keys", newEab: "New EAB key", maxUses: "Uses (0 = unlimited)", eabExpires: "Expires (optional)",
		eabShown: "Copy this key now: it is shown only once.", copy: "Copy", copied: "Copied.",
		kid: "Key id", hmac: "HMAC key",
		search: "Search", serial: "Serial", cn: "CN", any: "any", notAfter: "Valid until",
		revoke: "Revoke", revoked: "Revoked.", revokeReason: "Reason",
		noCerts: "No certificate matches.", noOrgs: "No organization is verified yet.",
		at: "At", actor: "Who", action: "What", object: "Object", detail: "Detail",
		next: "Next page", first: "First page",
		confirmRevoke: "Revoke certificate {s}?", confirmSuspend: "Suspend {o}?",
		days: "{n} d", hours: "{n} h", minutes: "{n} min", justNow: "just now",
		failed: "Failed: {d}", back: "Back to the queue",
		sha256: "SHA-256", type: "Type",
		st_processing: "processing", st_valid: "valid", st_invalid: "invalid",
		st_revoked: "revoked", st_verified: "verified", st_expired: "expired",
	},
	ja: {
		title: "Kakuin オペレーター コンソール",
		queue: "審査待ち", orgs: "組織", certs: "証明書", audit: "監査ログ",
		signin: "サインイン", signout: "サインアウト", token: "オペレーター トークン",
		signinNote: "トークンはこのタブの中だけに保存され、タブを閉じると消えます。",
		badToken: "このトークンは有効ではありません。",
		other: "English",
		role_operator: "オペレーター", role_auditor: "監査者（閲覧のみ）",
		queueEmpty: "審査待ちの申請はありません。",
		org: "組織", account: "アカウント", contacts: "連絡先", requested: "申請日時",
		age: "待ち時間", status: "状態", approvals: "承認", id: "ID",
		decided: "決定日時", reason: "理由", history: "この組織の過去の審査",
		noHistory: "なし。",
		registry: "法人番号公表サイトの情報", regName: "商号又は名称", regAddress: "所在地",
		approve: "承認", reject: "却下", method: "確認方法", phone: "電話",
		document: "書類", legalName: "正式名称（証明書の O）", country: "国",
		evidence: "確認の記録", overrideReason: "正式名称が法人番号の情報と異なる理由（異なる場合）",
		files: "書類（PDF・PNG・JPEG、各 5 MiB まで）", attachments: "添付書類",
		noAttachments: "添付書類はありません。", download: "ダウンロード",
		rejectReason: "理由（クライアントに表示されます）",
		approvedBy: "{op} が承認（{method}、{at}）",
		awaitingSecond: "二重承認：別のオペレーターの承認待ち（{m} 件中 {n} 件）。",
		complete: "確認済み。",
		uploaded: "{name} をアップロード中…", approved: "承認しました。", rejected: "却下しました。",
		legalNameLabel: "正式名称", expires: "確認の有効期限", verifiedAt: "確認日時",
		suspend: "停止", suspendReason: "理由", revokeCerts: "証明書も失効させる",
		suspended: "停止しました：注文 {o} 件を無効化、認可 {a} 件と証明書 {c} 件を失効。",
		domains: "ドメイン", noDomains: "ドメインはありません。",
		eab: "EAB 鍵", newEab: "EAB 鍵を発行", maxUses: "使用回数（0 は無制限）", eabExpires: "有効期限（任意）",
		eabShown: "この鍵は一度しか表示されません。今コピーしてください。", copy: "コピー", copied: "コピーしました。",
		kid: "鍵 ID", hmac: "HMAC 鍵",
		search: "検索", serial: "シリアル番号", cn: "CN", any: "すべて", notAfter: "有効期限",
		revoke: "失効", revoked: "失効させました。", revokeReason: "理由",
		noCerts: "該当する証明書はありません。", noOrgs: "確認済みの組織はまだありません。",
		at: "日時", actor: "実行者", action: "操作", object: "対象", detail: "詳細",
		next: "次のページ", first: "最初のページ",
		confirmRevoke: "証明書 {s} を失効させますか？", confirmSuspend: "{o} を停止しますか？",
		days: "{n}日", hours: "{n}時間", minutes: "{n}分", justNow: "たった今",
		failed: "失敗しました：{d}", back: "審査待ちに戻る",
		sha256: "SHA-256", type: "種類",
		st_processing: "審査中", st_valid: "有効", st_invalid: "無効",
		st_revoked: "失効", st_verified: "確認済み", st_expired: "期限切れ",
	},
};

const REVOKE_REASONS = ["unspecified", "keyCompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "privilegeWithdrawn"];

let lang = sessionStorage.getItem(LANG_KEY) ||
	(document.documentElement.lang === "ja" ? "ja" : "en");
let me = null; /* {name, role} from whoami */

function t(key, args) {
	let s = STRINGS[lang][key] || STRINGS.en[key] || key;
	for (const k in args || {})
		s = s.split("{" + k + "}").join(String(args[k]));
	return s;
}

/* el("tag", {attrs}, children...): text children become text nodes. */
function el(tag, attrs, ...kids) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k === "text")
			e.textContent = v;
		else if (k === "class")
			e.className = v;
		else if (k.startsWith("on"))
			e.addEventListener(k.slice(2), v);
		else
			e.setAttribute(k, v === true ? "" : v);
	}
	for (const c of kids.flat())
		if (c !== null && c !== undefined && c !== false)
			e.append(c instanceof Node ? c : String(c));
	return e;
}

function canWrite() {
	return me !== null && me.role === "operator";
}

function token() {
	return sessionStorage.getItem(TOKEN_KEY);
}

class ApiError extends Error {
	constructor(status, detail) {
		super(detail);
		this.status = status;
	}
}

/* One call of the operator API; JSON in and out unless body is a File. */
async function api(method, path, body) {
	const headers = { Authorization: "Bearer " + token() };
	let payload;
	if (body instanceof Blob) {
		headers["Content-Type"] = body.type || "application/octet-stream";
		payload = body;
	} else if (body !== undefined) {
		headers["Content-Type"] = "application/json";
		payload = JSON.stringify(body);
	}
	const r = await fetch(API + path, {
		method, headers, body: payload, cache: "no-store",
		credentials: "omit", redirect: "error",
	});
	const type = r.headers.get("Content-Type") || "";
	if (!r.ok) {
		let detail = r.status + " " + r.statusText;
		if (type.includes("json")) {
			const p = await r.json().catch(() => ({}));
			if (p.detail)
				detail = p.detail;
		}
		if (r.status === 401 && path !== "/whoami") {
			signOut();
			throw new ApiError(401, t("badToken"));
		}
		throw new ApiError(r.status, detail);
	}
	return type.includes("json") ? r.json() : r.blob();
}

function say(text, info) {
	const m = document.getElementById("msg");
	m.textContent = text;
	m.className = info ? "info" : "";
	m.hidden = !text;
}

function fail(e) {
	say(t("failed", { d: e.message }));
}

function fmtTime(s) {
	if (!s)
		return "—";
	const d = new Date(s);
	return d.toLocaleString(lang === "ja" ? "ja-JP" : "en-GB", {
		year: "numeric", month: "2-digit", day: "2-digit",
		hour: "2-digit", minute: "2-digit",
	});
}

function fmtAge(s) {
	const mins = Math.floor((Date.now() - new Date(s).getTime()) / 60000);
	if (mins < 1)
		return t("justNow");
	const d = Math.floor(mins / 1440), h = Math.floor(mins % 1440 / 60), m = mins % 60;
	const parts = [];
	if (d)
		parts.push(t("days", { n: d }));
	if (h)
		parts.push(t("hours", { n: h }));
	if (!d && m)
		parts.push(t("minutes", { n: m }));
	return parts.join(" ");
}

function status(s) {
	return el("span", { class: "status " + s, "data-status": s, text: t("st_" + s) });
}

function table(heads, rows) {
	return el("table", {},
		el("thead", {}, el("tr", {}, heads.map((h) => el("th", { text: t(h) })))),
		el("tbody", {}, rows));
}

function q(params) {
	const u = new URLSearchParams();
	for (const [k, v] of Object.entries(params))
		if (v)
			u.set(k, v);
	const s = u.toString();
	return s ? "?" + s : "";
}

/* Sign in. */

function renderSignIn() {
	generation++;
	document.getElementById("nav").hidden = true;
	document.getElementById("signout").hidden = true;
	document.getElementById("who").textContent = "";
	const input = el("input", {
		type: "password", id: "token", autocomplete: "off", required: true,
		spellcheck: "false",
	});
	const form = el("form", { id: "signin-form", class: "signin card" },
		el("h2", { text: t("signin") }),
		el("label", {}, t("token"), input),
		el("p", { class: "note", text: t("signinNote") }),
		el("button", { type: "submit", id: "signin", text: t("signin") }));
	form.addEventListener("submit", async (ev) => {
		ev.preventDefault();
		sessionStorage.setItem(TOKEN_KEY, input.value.trim());
		try {
			await whoami();
			say("");
			if (!location.hash || location.hash === "#")
				location.hash = "#queue";
			else
				route();
		} catch (e) {
			sessionStorage.removeItem(TOKEN_KEY);
			me = null;
			say(e.status === 401 ? t("badToken") : e.message);
		}
	});
	document.getElementById("main").replaceChildren(form);
	input.focus();
}

async function whoami() {
	me = await api("GET", "/whoami");
	document.getElementById("who").textContent =
		me.name + " · " + t("role_" + me.role);
	document.getElementById("who").dataset.role = me.role;
	document.getElementById("nav").hidden = false;
	document.getElementById("signout").hidden = false;
}

function signOut() {
	sessionStorage.removeItem(TOKEN_KEY);
	me = null;
	renderSignIn();
}

/* The queue. */

async function renderQueue(main, cursor) {
	const page = await api("GET", "/verifications" + q({ status: "processing", limit: 100, cursor }));
	const rows = page.verifications.map((v) => el("tr", {
		class: "link", "data-id": v.id,
		onclick: () => { location.hash = "#v/" + encodeURIComponent(v.id); },
	},
		el("td", { class: "mono", text: v.org }),
		el("td", { text: (v.contacts || []).join(", ") }),
		el("td", { text: fmtTime(v.requested_at) }),
		el("td", { class: "age", text: fmtAge(v.requested_at) }),
		el("td", { text: v.approvals.length + " / " + v.approvals_required })));
	main.replaceChildren(el("h2", { text: t("queue") }),
		rows.length ? table(["org", "contacts", "requested", "age", "approvals"], rows)
			: el("p", { class: "note", id: "queue-empty", text: t("queueEmpty") }),
		pager(page.next, cursor, (c) => renderQueue(main, c)));
}

/* One verification. */

function approvalsBlock(v) {
	const items = v.approvals.map((a) => el("li", {
		text: t("approvedBy", { op: a.operator, method: t(a.method), at: fmtTime(a.at) }) +
			" — " + a.legal_name + " (" + a.country + ")",
	}));
	const out = [el("ul", { id: "approvals" }, items)];
	if (v.status === "processing" && v.approvals.length > 0)
		out.push(el("p", { class: "dual", id: "dual", text: t("awaitingSecond",
			{ n: v.approvals.length, m: v.approvals_required }) }));
	return out;
}

const EXTENSIONS = { "application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg" };

/* The API wants the token, which a plain link cannot send: fetch, then
 * hand the browser the bytes under the name the server would give. */
async function download(url, sha, type) {
	try {
		const path = new URL(url).pathname.replace(API, "");
		const blob = await api("GET", path);
		const a = el("a", { href: URL.createObjectURL(blob),
			download: sha.slice(0, 16) + (EXTENSIONS[type] || "") });
		document.body.append(a);
		a.click();
		a.remove();
		setTimeout(() => URL.revokeObjectURL(a.href), 10000);
	} catch (e) {
		fail(e);
	}
}

function attachmentsBlock(list) {
	if (!list.length)
		return el("p", { class: "note", text: t("noAttachments") });
	return table(["sha256", "type", "actor", "at", "download"],
		list.map((a) => el("tr", { "data-sha": a.sha256 },
			el("td", { class: "mono", text: a.sha256 }),
			el("td", { text: a.content_type + ", " + a.size + " B" }),
			el("td", { text: a.uploaded_by }),
			el("td", { text: fmtTime(a.uploaded_at) }),
			el("td", {}, el("button", { type: "button", class: "plain", text: t("download"),
				onclick: () => download(a.url, a.sha256, a.content_type) })))));
}

function approveForm(v) {
	const prior = v.approvals[0];
	const reg = v.registry || {};
	const method = el("select", { id: "method", name: "method" },
		el("option", { value: "phone", text: t("phone") }),
		el("option", { value: "document", text: t("document") }));
	const legal = el("input", { id: "legal-name", required: true, maxlength: 64,
		value: prior ? prior.legal_name : (reg.name || "") });
	const country = el("input", { id: "country", required: true, maxlength: 2,
		pattern: "[A-Z]{2}", value: prior ? prior.country : "JP" });
	const evidence = el("textarea", { id: "evidence", required: true, maxlength: 2048 });
	const override = el("input", { id: "override-reason", maxlength: 2048 });
	const files = el("input", { id: "files", type: "file", multiple: true,
		accept: "application/pdf,image/png,image/jpeg" });
	const form = el("form", { id: "approve-form", class: "mut" },
		el("h3", { text: t("approve") }),
		el("label", {}, t("method"), method),
		el("label", {}, t("legalName"), legal),
		el("label", {}, t("country"), country),
		el("label", {}, t("evidence"), evidence),
		v.registry ? el("label", {}, t("overrideReason"), override) : null,
		el("label", {}, t("files"), files),
		el("button", { type: "submit", id: "approve", class: "mut", text: t("approve") }));
	form.addEventListener("submit", async (ev) => {
		ev.preventDefault();
		try {
			const shas = [];
			for (const f of files.files) {
				say(t("uploaded", { name: f.name }), true);
				const a = await api("POST", "/verifications/" +
					encodeURIComponent(v.id) + "/attachments", f);
				shas.push(a.sha256);
			}
			const body = {
				method: method.value, legal_name: legal.value.trim(),
				country: country.value.trim().toUpperCase(), evidence: evidence.value.trim(),
			};
			if (shas.length)
				body.attachments = shas;
			if (override.value.trim())
				body.override_reason = override.value.trim();
			await api("POST", "/verifications/" + encodeURIComponent(v.id) + "/approve", body);
			say(t("approved"), true);
			route();
		} catch (e) {
			fail(e);
		}
	});
	return form;
}

function rejectForm(v) {
	const reason = el("input", { id: "reject-reason", required: true, maxlength: 2048 });
	const form = el("form", { id: "reject-form", class: "mut" },
		el("h3", { text: t("reject") }),
		el("label", {}, t("rejectReason"), reason),
		el("button", { type: "submit", class: "danger mut", id: "reject", text: t("reject") }));
	form.addEventListener("submit", async (ev) => {
		ev.preventDefault();
		try {
			await api("POST", "/verifications/" + encodeURIComponent(v.id) + "/reject",
				{ reason: reason.value.trim() });
			say(t("rejected"), true);
			route();
		} catch (e) {
			fail(e);
		}
	});
	return form;
}

async function renderVerification(main, id) {
	const v = await api("GET", "/verifications/" + encodeURIComponent(id));
	const [hist, att] = await Promise.all([
		api("GET", "/verifications" + q({ org: v.org, limit: 100 })),
		api("GET", "/verifications/" + encodeURIComponent(id) + "/attachments")
			.catch(() => ({ attachments: [] })),
	]);
	const earlier = hist.verifications.filter((h) => h.id !== v.id);
	const info = el("section", { class: "card", id: "verification", "data-status": v.status },
		el("dl", {},
			el("dt", { text: t("id") }), el("dd", { class: "mono", text: v.id }),
			el("dt", { text: t("org") }), el("dd", { class: "mono", id: "v-org", text: v.org }),
			el("dt", { text: t("status") }), el("dd", {}, status(v.status)),
			el("dt", { text: t("account") }), el("dd", { class: "mono", text: v.account }),
			el("dt", { text: t("contacts") }), el("dd", { text: (v.contacts || []).join(", ") || "—" }),
			el("dt", { text: t("requested") }),
			el("dd", { text: fmtTime(v.requested_at) + " (" + fmtAge(v.requested_at) + ")" }),
			v.decided_at ? [el("dt", { text: t("decided") }), el("dd", { text: fmtTime(v.decided_at) })] : null,
			v.reason ? [el("dt", { text: t("reason") }), el("dd", { text: v.reason })] : null),
		approvalsBlock(v),
		v.status === "valid" ? el("p", { class: "status valid", text: t("complete") }) : null);
	const parts = [el("h2", { text: t("queue") + " › " + v.org }), info];
	if (v.registry)
		parts.push(el("section", { class: "card", id: "registry" },
			el("h3", { text: t("registry") }),
			el("dl", {},
				el("dt", { text: t("id") }), el("dd", { class: "mono", text: v.registry.corporateNumber || "" }),
				el("dt", { text: t("regName") }), el("dd", { text: v.registry.name || "" }),
				el("dt", { text: t("regAddress") }), el("dd", { text: v.registry.address || "" }))));
	parts.push(el("section", { class: "card", id: "attachments" },
		el("h3", { text: t("attachments") }), attachmentsBlock(att.attachments)));
	const mine = me && v.approvals.some((a) => a.operator === me.name);
	if (canWrite() && v.status === "processing" && !mine)
		parts.push(el("section", { class: "card" }, approveForm(v), rejectForm(v)));
	else if (canWrite() && v.status === "processing")
		parts.push(el("section", { class: "card" }, rejectForm(v)));
	parts.push(el("h3", { text: t("history") }), earlier.length
		? table(["requested", "status", "decided", "approvals", "reason"], earlier.map((h) => el("tr", {
			class: "link", onclick: () => { location.hash = "#v/" + encodeURIComponent(h.id); },
		},
			el("td", { text: fmtTime(h.requested_at) }),
			el("td", {}, status(h.status)),
			el("td", { text: fmtTime(h.decided_at) }),
			el("td", { text: h.approvals.map((a) => a.operator + " (" + a.legal_name + ")").join(", ") }),
			el("td", { text: h.reason || "" }))))
		: el("p", { class: "note", text: t("noHistory") }));
	parts.push(el("p", {}, el("a", { href: "#queue", text: t("back") })));
	main.replaceChildren(...parts);
}

/* Organizations. */

async function renderOrgs(main, cursor) {
	const page = await api("GET", "/orgs" + q({ limit: 50, cursor }));
	const rows = page.orgs.map((o) => el("tr", {
		class: "link", "data-id": o.id,
		onclick: () => { location.hash = "#org/" + encodeURIComponent(o.id); },
	},
		el("td", { class: "mono", text: o.id }),
		el("td", { text: o.legal_name }),
		el("td", { text: o.country }),
		el("td", {}, status(o.status)),
		el("td", { text: fmtTime(o.expires) })));
	main.replaceChildren(el("h2", { text: t("orgs") }),
		rows.length ? table(["org", "legalNameLabel", "country", "status", "expires"], rows)
			: el("p", { class: "note", text: t("noOrgs") }),
		pager(page.next, cursor, (c) => renderOrgs(main, c)));
}

function pager(next, cursor, go) {
	return el("div", { class: "pager" },
		cursor ? el("button", { type: "button", class: "plain", id: "first-page", text: t("first"),
			onclick: () => go(undefined).catch(fail) }) : null,
		next ? el("button", { type: "button", class: "plain", id: "next-page", text: t("next"),
			onclick: () => go(next).catch(fail) }) : null);
}

function suspendForm(o) {
	const reason = el("input", { id: "suspend-reason", required: true, maxlength: 2048 });
	const revoke = el("input", { type: "checkbox", id: "suspend-revoke" });
	const form = el("form", { class: "inline mut", id: "suspend-form" },
		el("label", {}, t("suspendReason"), reason),
		el("label", { class: "check" }, revoke, t("revokeCerts")),
		el("button", { type: "submit", class: "danger mut", text: t("suspend") }));
	form.addEventListener("submit", async (ev) => {
		ev.preventDefault();
		if (!confirm(t("confirmSuspend", { o: o.id })))
			return;
		try {
			const r = await api("POST", "/orgs/" + encodeURIComponent(o.id) + "/suspend",
				{ reason: reason.value.trim(), revoke_certificates: revoke.checked });
			route();
			say(t("suspended", { o: r.orders_invalidated, a: r.authorizations_revoked,
				c: r.certificates_revoked }), true);
		} catch (e) {
			fail(e);
		}
	});
	return form;
}

function eabForm(o, out) {
	const uses = el("input", { type: "number", id: "eab-uses", min: 0, max: 1000000, value: 0 });
	const exp = el("input", { type: "date", id: "eab-expires" });
	const form = el("form", { class: "inline mut", id: "eab-form" },
		el("label", {}, t("maxUses"), uses),
		el("label", {}, t("eabExpires"), exp),
		el("button", { type: "submit", class: "mut", text: t("newEab") }));
	form.addEventListener("submit", async (ev) => {
		ev.preventDefault();
		try {
			const body = { max_uses: Number(uses.value) || 0 };
			if (exp.value)
				body.expires = exp.value + "T00:00:00Z";
			const k = await api("POST", "/orgs/" + encodeURIComponent(o.id) + "/eab-keys", body);
			const key = el("span", { class: "mono", id: "eab-hmac", text: k.hmac_key });
			const note = el("span", { class: "note" });
			out.replaceChildren(el("div", { class: "secret" },
				el("p", { text: t("eabShown") }),
				el("dl", {},
					el("dt", { text: t("kid") }), el("dd", { class: "mono", id: "eab-kid", text: k.kid }),
					el("dt", { text: t("hmac") }), el("dd", {}, key)),
				el("button", { type: "button", class: "plain", id: "eab-copy", text: t("copy"),
					onclick: async () => {
						try {
							await navigator.clipboard.writeText(k.hmac_key);
							note.textContent = " " + t("copied");
						} catch (e) {
							const r = document.createRange();
							r.selectNodeContents(key);
							getSelection().removeAllRanges();
							getSelection().addRange(r);
						}
					} }), note));
		} catch (e) {
			fail(e);
		}
	});
	return form;
}

async function renderOrg(main, id) {
	const o = await api("GET", "/orgs/" + encodeURIComponent(id));
	/* Domains exist only on servers that have them: hidden otherwise. */
	const domains = await api("GET", "/orgs/" + encodeURIComponent(id) + "/domains")
		.catch(() => null);
	const parts = [el("h2", { text: t("orgs") + " › " + o.id }),
		el("section", { class: "card", id: "org" }, el("dl", {},
			el("dt", { text: t("legalNameLabel") }), el("dd", { text: o.legal_name }),
			el("dt", { text: t("country") }), el("dd", { text: o.country }),
			el("dt", { text: t("method") }), el("dd", { text: t(o.method) }),
			el("dt", { text: t("status") }), el("dd", {}, status(o.status)),
			el("dt", { text: t("verifiedAt") }), el("dd", { text: fmtTime(o.verified_at) }),
			el("dt", { text: t("expires") }), el("dd", { text: fmtTime(o.expires) })))];
	if (domains !== null) {
		const list = Array.isArray(domains) ? domains : (domains.domains || []);
		parts.push(el("section", { class: "card", id: "domains" }, el("h3", { text: t("domains") }),
			list.length ? el("ul", {}, list.map((d) =>
				el("li", { class: "mono", text: typeof d === "string" ? d : (d.name || d.domain || JSON.stringify(d)) })))
				: el("p", { class: "note", text: t("noDomains") })));
	}
	if (canWrite()) {
		const out = el("div", { id: "eab-out" });
		parts.push(el("section", { class: "card" }, el("h3", { text: t("eab") }), eabForm(o, out), out));
		if (o.status === "verified")
			parts.push(el("section", { class: "card" }, el("h3", { text: t("suspend") }), suspendForm(o)));
	}
	parts.push(el("h3", { text: t("history") }),
		table(["requested", "status", "decided", "approvals"], (o.verifications || []).map((h) => el("tr", {
			class: "link", onclick: () => { location.hash = "#v/" + encodeURIComponent(h.id); },
		},
			el("td", { text: fmtTime(h.requested_at) }),
			el("td", {}, status(h.status)),
			el("td", { text: fmtTime(h.decided_at) }),
			el("td", { text: h.approvals.map((a) => a.operator).join(", ") })))));
	main.replaceChildren(...parts);
}

/* Certificates. */

let certQuery = {};

async function renderCerts(main, cursor) {
	const org = el("input", { id: "cert-org", value: certQuery.org || "" });
	const cn = el("input", { id: "cert-cn", value: certQuery.cn || "" });
	const serial = el("input", { id: "cert-serial", value: certQuery.serial || "" });
	const st = el("select", { id: "cert-status" },
		["", "valid", "revoked"].map((s) => el("option", {
			value: s, text: s ? t("st_" + s) : t("any"), selected: (certQuery.status || "") === s,
		})));
	const form = el("form", { class: "inline", id: "cert-search" },
		el("label", {}, t("org"), org), el("label", {}, t("cn"), cn),
		el("label", {}, t("serial"), serial), el("label", {}, t("status"), st),
		el("button", { type: "submit", text: t("search") }));
	form.addEventListener("submit", (ev) => {
		ev.preventDefault();
		certQuery = { org: org.value.trim(), cn: cn.value.trim(),
			serial: serial.value.trim(), status: st.value };
		renderCerts(main).catch(fail);
	});
	const page = await api("GET", "/certificates" + q({ ...certQuery, limit: 50, cursor }));
	const rows = page.certificates.map((c) => el("tr", { "data-serial": c.serial },
		el("td", { class: "mono", text: c.serial }),
		el("td", { class: "mono", text: c.org || "" }),
		el("td", { text: c.cn }),
		el("td", { text: fmtTime(c.not_after) }),
		el("td", {}, status(c.status), c.reason ? " (" + c.reason + ")" : ""),
		el("td", {}, canWrite() && c.status === "valid" ? revokeControl(c) : null)));
	main.replaceChildren(el("h2", { text: t("certs") }), form,
		rows.length ? table(["serial", "org", "cn", "notAfter", "status", "revoke"], rows)
			: el("p", { class: "note", text: t("noCerts") }),
		pager(page.next, cursor, (c) => renderCerts(main, c)));
}

function revokeControl(c) {
	const reason = el("select", { "aria-label": t("revokeReason") },
		REVOKE_REASONS.map((r) => el("option", { value: r, text: r })));
	return el("span", {}, reason, " ", el("button", {
		type: "button", class: "danger mut", text: t("revoke"),
		onclick: async () => {
			if (!confirm(t("confirmRevoke", { s: c.serial })))
				return;
			try {
				await api("POST", "/certificates/" + encodeURIComponent(c.serial) + "/revoke",
					{ reason: reason.value });
				say(t("revoked"), true);
				route();
			} catch (e) {
				fail(e);
			}
		},
	}));
}

/* The audit log. */

async function renderAudit(main, cursor) {
	const page = await api("GET", "/audit" + q({ limit: 50, cursor }));
	const rows = page.events.map((e) => el("tr", { "data-seq": e.seq },
		el("td", { text: e.seq }),
		el("td", { text: fmtTime(e.at) }),
		el("td", { text: e.actor }),
		el("td", { text: e.action }),
		el("td", { class: "mono", text: e.object || "" }),
		el("td", { class: "mono", text: e.detail ? JSON.stringify(e.detail) : "" })));
	main.replaceChildren(el("h2", { text: t("audit") }),
		table(["id", "at", "actor", "action", "object", "detail"], rows),
		pager(page.next, cursor, (c) => renderAudit(main, c)));
}

/* Routing on the fragment: #queue, #v/ID, #orgs, #org/ID, #certs, #audit. */

/* Renders run concurrently (a slow page, then a click elsewhere): only the
 * latest one may fill the page. */
let generation = 0;

async function route() {
	const my = ++generation;
	const real = document.getElementById("main");
	const main = {
		replaceChildren: (...kids) => {
			if (my === generation)
				real.replaceChildren(...kids);
		},
	};
	if (!token())
		return renderSignIn();
	if (me === null) {
		try {
			await whoami();
		} catch (e) {
			return signOut();
		}
	}
	const h = decodeURIComponent(location.hash.slice(1)) || "queue";
	const [view, ...rest] = h.split("/");
	const arg = rest.join("/");
	for (const a of document.querySelectorAll("nav a"))
		a.classList.toggle("current", a.getAttribute("href") === "#" + (view === "v" ? "queue" : view === "org" ? "orgs" : view));
	try {
		if (view === "v" && arg)
			await renderVerification(main, arg);
		else if (view === "orgs")
			await renderOrgs(main);
		else if (view === "org" && arg)
			await renderOrg(main, arg);
		else if (view === "certs")
			await renderCerts(main);
		else if (view === "audit")
			await renderAudit(main);
		else
			await renderQueue(main);
	} catch (e) {
		if (my === generation)
			fail(e);
	}
}

function applyLanguage() {
	document.documentElement.lang = lang;
	document.title = t("title");
	document.getElementById("title").textContent = t("title");
	for (const k of ["queue", "orgs", "certs", "audit"])
		document.getElementById("nav-" + k).textContent = t(k);
	document.getElementById("lang").textContent = t("other");
	document.getElementById("signout").textContent = t("signout");
	if (me !== null)
		document.getElementById("who").textContent = me.name + " · " + t("role_" + me.role);
}

document.addEventListener("DOMContentLoaded", () => {
	document.getElementById("lang").addEventListener("click", () => {
		lang = lang === "ja" ? "en" : "ja";
		sessionStorage.setItem(LANG_KEY, lang);
		applyLanguage();
		say("");
		route();
	});
	document.getElementById("signout").addEventListener("click", () => {
		say("");
		signOut();
	});
	window.addEventListener("hashchange", () => {
		say("");
		route();
	});
	applyLanguage();
	route();
});
