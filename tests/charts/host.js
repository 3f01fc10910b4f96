// The test host: a page that loads one MCP Apps view in a sandboxed iframe and talks to it
// over the apps protocol with ext-apps' own host side (AppBridge), as an MCP Apps host does.
// Built by tools/node/build_charts.mjs --harness; driven by drive.mjs.
//
//   await window.host.open({ src, toolName, arguments, result, width })
//     → resolves once the view has initialized and been sent the tool input and result.
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

window.host = {
  async open({ src, toolName, args, result, width }) {
    const frame = document.createElement("iframe");
    frame.sandbox = "allow-scripts"; // no allow-same-origin: an opaque origin, as hosts do
    frame.title = "chart";
    frame.style.cssText = `width:${width}px;height:200px;border:1px solid #ccc;display:block`;
    document.body.append(frame);
    const bridge = new AppBridge(
      null,
      { name: "healthlocker-test-host", version: "1" },
      { openLinks: {} },
      { hostContext: { theme: "light", displayMode: "inline", containerDimensions: { maxWidth: width } } },
    );
    const sizes = [];
    bridge.onsizechange = ({ height }) => {
      sizes.push(height);
      if (height) frame.style.height = `${Math.ceil(height)}px`;
    };
    const ready = new Promise((resolve) => {
      bridge.oninitialized = async () => {
        await bridge.sendToolInput({ arguments: args });
        await bridge.sendToolResult(result);
        resolve();
      };
    });
    await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
    frame.src = src;
    await ready;
    window.host.sizes = sizes;
    window.host.bridge = bridge;
  },
};
