// The SMART side of the test bench: oauth2-mock-server as the authorization server (PKCE),
// plus what a SMART EHR adds around it, on one loopback port:
//   GET  /fhir/.well-known/smart-configuration   discovery, pointing at the mock's endpoints
//   /fhir/metadata                                the FHIR server's CapabilityStatement
//   /fhir/*                                       proxied to the real FHIR server (sekmet-fhir),
//                                                 only with a valid, unexpired bearer token, for
//                                                 the launch patient, within the token's scopes
//   everything else                               oauth2-mock-server (/authorize, /token, /jwks)
// Token responses gain `patient` (the launch context) and the scope that was authorised; the
// signed token carries that scope (or OPTIONS.grant: what the person really approved).
//
// Scopes (SMART v1 `patient/Observation.read`, v2 `patient/Observation.rs?category=…`) are
// enforced: a request they do not cover gets 403 and an OperationOutcome, as does a search
// for another patient.
//
// OPTIONS.ehr = "epic" adds Epic's rules for patient-access apps:
//   * an Observation search without `category` or `code` is refused (400, Epic's
//     OperationOutcome: "Must have either code or category."), a CarePlan search without
//     `category` too (400, listing Epic's care plan categories);
//   * no $everything: the CapabilityStatement does not offer it and a request is refused.
// OPTIONS.pageTtl = N: `next` links are paging sessions (`?sessionID=…`) that expire N seconds
// after the page naming them was sent; an expired or unknown one is refused (400).
// OPTIONS.everything = false: no $everything (not offered, and refused), as many servers; a
// sync then searches each type, one page of `_count` at a time.
// OPTIONS.latencyMs = N: every FHIR request waits N ms before it is answered, as over a real
// network (a sync then lasts long enough to be interrupted where a test wants).
//
// usage: node gateway.mjs NODE_MODULES PORT UPSTREAM_ORIGIN PATIENT_ID [OPTIONS_JSON]
// OPTIONS_JSON: {"tokenTtl": s, "ehr": "epic", "pageTtl": s, "grant": "scope …",
//                "everything": false, "latencyMs": ms}
// (NODE_MODULES: tools/node/node_modules, where the project's set-up installed the packages.)
// Prints "ready" on stdout once listening.
import http from "node:http";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, port, upstream, patient, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson || "{}");
const ttl = options.tokenTtl;
const load = (path) => import(pathToFileURL(join(modules, path)).href);
const { createLocalJWKSet, jwtVerify } = await load("jose/dist/webapi/index.js");
const { OAuth2Issuer, OAuth2Service } = await load("oauth2-mock-server/dist/index.mjs");

const origin = `http://127.0.0.1:${port}`;
const fhirBase = `${origin}/fhir`;

const issuer = new OAuth2Issuer();
issuer.url = origin;
await issuer.keys.generate("RS256");
const service = new OAuth2Service(issuer);
const granted = new Map(); // code -> scope, remembered at /authorize for the token response
const refreshed = new Map(); // refresh token -> scope

service.on("beforeAuthorizeRedirect", (redirect, req) => {
  const q = new URL(req.url, origin).searchParams;
  // A SMART server insists on PKCE S256 and on aud naming its FHIR base.
  const problem =
    q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")
      ? "PKCE S256 required"
      : q.get("aud") !== fhirBase
        ? "aud must be the FHIR base"
        : null;
  if (problem) {
    redirect.url.searchParams.delete("code");
    redirect.url.searchParams.set("error", "invalid_request");
    redirect.url.searchParams.set("error_description", problem);
    return;
  }
  granted.set(redirect.url.searchParams.get("code"), q.get("scope") || "");
});
const scopeOf = (body) =>
  (body && (granted.get(body.code) ?? refreshed.get(body.refresh_token))) || "";
service.on("beforeTokenSigning", (token, req) => {
  if (ttl) token.payload.exp = token.payload.iat + Number(ttl);
  token.payload.aud = fhirBase;
  token.payload.scope = options.grant ?? scopeOf(req.body);
});
service.on("beforeResponse", (response, req) => {
  if (response.statusCode !== 200) return;
  response.body.patient = patient;
  const scope = scopeOf(req.body);
  if (req.body && req.body.code && granted.has(req.body.code)) response.body.scope = scope;
  if (response.body.refresh_token) refreshed.set(response.body.refresh_token, scope);
  if (ttl) response.body.expires_in = Number(ttl);
});

const smartConfiguration = () => ({
  issuer: origin,
  authorization_endpoint: `${origin}/authorize`,
  token_endpoint: `${origin}/token`,
  jwks_uri: `${origin}/jwks`,
  grant_types_supported: ["authorization_code", "refresh_token"],
  code_challenge_methods_supported: ["S256"],
  token_endpoint_auth_methods_supported: ["none", "client_secret_basic"],
  scopes_supported: ["launch/patient", "patient/*.rs", "offline_access", "openid", "fhirUser"],
  response_types_supported: ["code"],
  capabilities: ["launch-standalone", "client-public", "context-standalone-patient",
    "permission-offline", "permission-patient", "permission-v2", "permission-v1"],
});

async function claims(req) {
  const header = req.headers.authorization || "";
  if (!header.startsWith("Bearer ")) return null;
  try {
    const { payload } = await jwtVerify(header.slice(7),
      createLocalJWKSet({ keys: issuer.keys.toJSON() }), { issuer: origin, audience: fhirBase });
    return payload;
  } catch {
    return null;
  }
}

// -- answers ----------------------------------------------------------------------------------

function outcome(res, status, issue) {
  res.writeHead(status, { "content-type": "application/fhir+json" });
  res.end(JSON.stringify({ resourceType: "OperationOutcome", issue: [issue] }));
}
const forbidden = (res, why) =>
  outcome(res, 403, { severity: "error", code: "forbidden", diagnostics: why });
const EPIC_REQUIRED = {
  Observation: {
    needs: ["category", "code"],
    issue: { severity: "fatal", code: "required",
      details: { text: "A required element is missing." },
      diagnostics: "Must have either code or category.", expression: ["code", "category"] },
  },
  CarePlan: {
    needs: ["category"],
    issue: { severity: "fatal", code: "required",
      diagnostics: "This resource requires a category for searching. Use 38717003 for " +
        "longitudinal, 734163000 for encounter, 736271009 for outpatient, 736353004 for " +
        "inpatient, 738906000 for dental, 736378000 for oncology" },
  },
};

// -- SMART scopes, v1 and v2 ------------------------------------------------------------------

function parseScopes(text) {
  const out = [];
  for (const part of (text || "").split(/\s+/)) {
    let m = part.match(/^(patient|user|system)\/([A-Za-z]+|\*)\.(read|write|\*)$/);
    if (m) {
      const ok = m[3] !== "write";
      out.push({ type: m[2], read: ok, search: ok, query: null });
      continue;
    }
    m = part.match(/^(patient|user|system)\/([A-Za-z]+|\*)\.([cruds]+)(?:\?(.+))?$/);
    if (m) {
      out.push({ type: m[2], read: m[3].includes("r"), search: m[3].includes("s"),
        query: m[4] ? [...new URLSearchParams(m[4]).entries()] : null });
    }
  }
  return out;
}

function scopeAllows(scopes, type, interaction, params) {
  return scopes.some((s) =>
    (s.type === type || s.type === "*") && s[interaction] &&
    (!s.query || s.query.every(([k, v]) => params.getAll(k).includes(v))));
}

// What a FHIR request under /fhir/ may not do: [status, why] or null.
function refusal(payload, url) {
  const parts = url.pathname.slice("/fhir/".length).split("/").filter(Boolean);
  const params = url.searchParams;
  const [type, id, op] = parts;
  const scopes = parseScopes(payload.scope);
  if (op === "$everything") {
    if (options.ehr === "epic" || options.everything === false) return ["epic", null];
    if (id !== patient) return [403, "Only the launch patient's record may be read."];
    const all = scopes.some((s) => s.type === "*" && s.read && s.search && !s.query);
    return all ? null : [403, "$everything needs access to every resource type."];
  }
  if (id !== undefined) {
    if (type === "Patient" && id !== patient) return [403, "Not the launch patient."];
    return scopeAllows(scopes, type, "read", params) ? null : [403, `No scope allows ${type}.read.`];
  }
  const who = type === "Patient" ? params.get("_id")
    : (params.get("patient") || params.get("subject") || "").replace(/^Patient\//, "");
  if (who !== patient) return [403, "A search must name the launch patient."];
  if (!scopeAllows(scopes, type, "search", params)) {
    return [403, `No scope granted to this app allows this ${type} search.`];
  }
  const rule = options.ehr === "epic" && EPIC_REQUIRED[type];
  if (rule && !rule.needs.some((p) => params.has(p))) return ["epic", rule.issue];
  return null;
}

// -- paging sessions: next links that expire ---------------------------------------------------

const sessions = new Map(); // sessionID -> { path, expires }

function rewriteNext(doc) {
  if (doc.resourceType !== "Bundle" || !Array.isArray(doc.link)) return doc;
  for (const link of doc.link) {
    if (link.relation !== "next") continue;
    const next = new URL(link.url);
    const id = randomUUID();
    sessions.set(id, { path: next.pathname + next.search, expires: Date.now() + options.pageTtl * 1000 });
    link.url = `${fhirBase}/${next.pathname.split("/").pop()}?sessionID=${id}`;
  }
  return doc;
}

function withoutEverything(doc) {
  for (const rest of doc.rest || []) {
    rest.operation = (rest.operation || []).filter((o) => !/everything/.test(o.name));
    for (const res of rest.resource || []) {
      res.operation = (res.operation || []).filter((o) => !/everything/.test(o.name));
    }
  }
  return doc;
}

// -- proxy ------------------------------------------------------------------------------------

function proxy(req, res, path, transform) {
  const target = new URL(path, upstream);
  const headers = { ...req.headers, host: target.host };
  delete headers.authorization; // the upstream trusts the gateway; the token stops here
  if (transform) headers["accept-encoding"] = "identity";
  const out = http.request(target, { method: req.method, headers }, (up) => {
    if (!transform || up.statusCode !== 200) {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
      return;
    }
    const chunks = [];
    up.on("data", (c) => chunks.push(c));
    up.on("end", () => {
      const body = Buffer.from(JSON.stringify(transform(JSON.parse(Buffer.concat(chunks)))));
      const { "content-length": _, "transfer-encoding": __, ...rest } = up.headers;
      res.writeHead(200, { ...rest, "content-length": body.length });
      res.end(body);
    });
  });
  out.on("error", () => { res.writeHead(502); res.end(); });
  req.pipe(out);
}

async function fhir(req, res, url) {
  if (options.latencyMs) await new Promise((done) => setTimeout(done, options.latencyMs));
  const payload = await claims(req);
  if (!payload) {
    res.writeHead(401, { "www-authenticate": 'Bearer error="invalid_token"',
      "content-type": "application/fhir+json" });
    res.end(JSON.stringify({ resourceType: "OperationOutcome",
      issue: [{ severity: "error", code: "login" }] }));
    return;
  }
  const paging = options.pageTtl ? rewriteNext : null;
  const sid = url.searchParams.get("sessionID");
  if (sid !== null) {
    const session = sessions.get(sid);
    if (!session || session.expires < Date.now()) {
      outcome(res, 400, { severity: "error", code: "processing",
        diagnostics: "Invalid or expired paging session." });
    } else {
      proxy(req, res, session.path, paging);
    }
    return;
  }
  const refused = refusal(payload, url);
  if (refused === null) {
    proxy(req, res, req.url, paging);
  } else if (refused[0] === "epic") {
    outcome(res, 400, refused[1] ||
      { severity: "fatal", code: "not-supported", diagnostics: "Operation not supported." });
  } else {
    forbidden(res, refused[1]);
  }
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, origin);
  const path = url.pathname;
  if (path === "/fhir/.well-known/smart-configuration") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(smartConfiguration()));
  } else if (path === "/fhir/metadata") {
    const offered = options.ehr !== "epic" && options.everything !== false;
    proxy(req, res, req.url, offered ? null : withoutEverything);
  } else if (path === "/fhir" || path.startsWith("/fhir/")) {
    await fhir(req, res, url);
  } else {
    service.requestHandler(req, res);
  }
});
server.listen(Number(port), "127.0.0.1", () => console.log("ready"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
