import { shell } from "./core.js";

shell();
