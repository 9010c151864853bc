// The home view: upload (picker or drag and drop, with the job's options) and the jobs list.

import { api, describe } from "./api.js";
import { el } from "./format.js";

const PAGE_SIZE = 10;
const REFRESH_MS = 3000;

export class HomeView {
  constructor({ form, drop, file, models, table, prev, next, page, notify, open }) {
    Object.assign(this, { form, drop, file, models, table, prev, next, page, notify, open });
    this.offset = 0;
    this.total = 0;
    this.modelNames = [];
    this.refresh = null;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.upload();
    });
    for (const name of ["dragenter", "dragover"]) {
      drop.addEventListener(name, (e) => {
        e.preventDefault();
        drop.classList.add("over");
      });
    }
    for (const name of ["dragleave", "drop"]) drop.addEventListener(name, () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      if (e.dataTransfer.files.length) file.files = e.dataTransfer.files;
    });
    prev.addEventListener("click", () => this.list(Math.max(0, this.offset - PAGE_SIZE)));
    next.addEventListener("click", () => this.list(this.offset + PAGE_SIZE));
  }

  async loadModels() {
    const { models } = await api("/api/transcribe/models");
    const usable = models.filter((m) => m.is_downloaded);
    this.modelNames = usable.map((m) => m.name);
    const chosen = this.models.value;
    this.models.replaceChildren(...usable.map((m) => el("option", { value: m.name }, `${m.name} (${m.description})`)));
    if (chosen) this.models.value = chosen;
  }

  async upload() {
    const data = new FormData(this.form);
    // Unchecked boxes send nothing; empty fields would not validate.
    data.set("diarize", this.form.querySelector("#diarize-input").checked ? "true" : "false");
    for (const name of ["language", "num_speakers"]) if (!String(data.get(name) || "").trim()) data.delete(name);
    const button = this.form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const job = await api("/api/transcribe/", { method: "POST", form: data });
      this.form.reset();
      this.open(job.job_id);
    } catch (error) {
      this.notify(describe(error));
    } finally {
      button.disabled = false;
    }
  }

  async list(offset = this.offset) {
    try {
      const page = await api(`/api/transcribe/jobs?limit=${PAGE_SIZE}&offset=${offset}`);
      this.offset = offset;
      this.total = page.total;
      this.table.tBodies[0].replaceChildren(
        ...page.jobs.map((job) =>
          el("tr", {},
            el("td", {}, el("a", { href: `#/jobs/${job.job_id}` }, job.filename || job.job_id)),
            el("td", {}, job.status === "processing" ? `processing (${Math.round(job.progress)}%)` : job.status),
            el("td", {}, new Date(job.updated_at).toLocaleString())),
        ),
      );
      const last = Math.min(offset + PAGE_SIZE, page.total);
      this.page.textContent = page.total ? `${offset + 1}–${last} of ${page.total}` : "No jobs yet";
      this.prev.disabled = offset === 0;
      this.next.disabled = last >= page.total;
      // Running jobs move on: refresh while the list shows one.
      clearTimeout(this.refresh);
      if (page.jobs.some((job) => job.status === "processing")) {
        this.refresh = setTimeout(() => !this.table.closest("[hidden]") && this.list(), REFRESH_MS);
      }
    } catch (error) {
      this.notify(describe(error));
    }
  }
}
