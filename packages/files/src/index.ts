export { createFile, replaceFile, syncDirectory, type FsOptions, type ReplaceFileFs, type ReplaceFileOptions } from "./replace-file.js";
