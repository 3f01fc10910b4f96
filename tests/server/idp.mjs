// An external identity provider for remote mode's tests: oauth2-mock-server on loopback,
// issuing RS256 client-credentials tokens with the requested `scope` and `aud`, and a
// `client_id` claim naming the client.
//
// usage: node idp.mjs NODE_MODULES PORT      (prints "ready" once listening)
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, port] = process.argv.slice(2);
const { OAuth2Server } = await import(
  pathToFileURL(join(modules, "oauth2-mock-server/dist/index.mjs")).href
);
const server = new OAuth2Server();
server.issuer.url = `http://127.0.0.1:${port}`;
await server.issuer.keys.generate("RS256");
server.service.on("beforeTokenSigning", (token, req) => {
  token.payload.client_id = (req.body && req.body.client_id) || "external-client";
});
await server.start(Number(port), "127.0.0.1");
console.log("ready");
process.on("SIGTERM", () => server.stop().then(() => process.exit(0)));
