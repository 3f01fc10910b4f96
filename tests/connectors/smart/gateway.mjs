// The SMART side of the test bench: oauth2-mock-server as the authorization server (PKCE),
// plus the few things a SMART EHR adds around it, on one loopback port:
//   GET  /fhir/.well-known/smart-configuration   discovery, pointing at the mock's endpoints
//   /fhir/*                                       proxied to the real FHIR server (sekmet-fhir),
//                                                 only with a valid, unexpired bearer token
//   everything else                               oauth2-mock-server (/authorize, /token, /jwks)
// Token responses gain `patient` (the launch context) and the scope that was authorised.
//
// usage: node gateway.mjs NODE_MODULES PORT UPSTREAM_ORIGIN PATIENT_ID [TOKEN_TTL_SECONDS]
// (NODE_MODULES: tools/node/node_modules, where the project's set-up installed the packages.)
// Prints "ready" on stdout once listening.
import http from "node:http";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, port, upstream, patient, ttl] = process.argv.slice(2);
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
service.on("beforeTokenSigning", (token) => {
  if (ttl) token.payload.exp = token.payload.iat + Number(ttl);
  token.payload.aud = fhirBase;
});
service.on("beforeResponse", (response, req) => {
  if (response.statusCode !== 200) return;
  response.body.patient = patient;
  const code = req.body && req.body.code;
  if (code && granted.has(code)) response.body.scope = granted.get(code);
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
    "permission-offline", "permission-patient", "permission-v2"],
});

async function authorised(req) {
  const header = req.headers.authorization || "";
  if (!header.startsWith("Bearer ")) return false;
  try {
    await jwtVerify(header.slice(7), createLocalJWKSet({ keys: issuer.keys.toJSON() }), {
      issuer: origin, audience: fhirBase,
    });
    return true;
  } catch {
    return false;
  }
}

function proxy(req, res) {
  const target = new URL(req.url, upstream);
  const headers = { ...req.headers, host: target.host };
  delete headers.authorization; // the upstream trusts the gateway; the token stops here
  const out = http.request(target, { method: req.method, headers }, (up) => {
    res.writeHead(up.statusCode, up.headers);
    up.pipe(res);
  });
  out.on("error", () => { res.writeHead(502); res.end(); });
  req.pipe(out);
}

const server = http.createServer(async (req, res) => {
  const path = new URL(req.url, origin).pathname;
  if (path === "/fhir/.well-known/smart-configuration") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(smartConfiguration()));
  } else if (path === "/fhir/metadata") {
    proxy(req, res);
  } else if (path === "/fhir" || path.startsWith("/fhir/")) {
    if (await authorised(req)) {
      proxy(req, res);
    } else {
      res.writeHead(401, { "www-authenticate": 'Bearer error="invalid_token"',
        "content-type": "application/fhir+json" });
      res.end(JSON.stringify({ resourceType: "OperationOutcome",
        issue: [{ severity: "error", code: "login" }] }));
    }
  } else {
    service.requestHandler(req, res);
  }
});
server.listen(Number(port), "127.0.0.1", () => console.log("ready"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
