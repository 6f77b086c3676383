import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { setApiBase } from "./api/client";
import { loadSiteConfig } from "./config/siteConfig";
import "./styles.css";

void loadSiteConfig().then((config) => {
  setApiBase(config.api);
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
});
