// One file sent to the server's upload address (multipart, field `file`), saying how far it
// got: XMLHttpRequest, because fetch cannot tell how much of a request body has gone.

/** Raised by `done` when the upload was called off (the reader removed the file). */
export class UploadCancelled extends Error {}

/**
 * Starts uploading `file` to `url`; `onProgress(fraction)` follows it. Returns {done, cancel}:
 * `done` resolves to what the server says of the file (its id, kind, size…) or rejects with
 * an Error whose message is the server's `detail`.
 */
export function upload(file, { url, csrfToken, onProgress }) {
  const request = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      let data = {};
      try {
        data = JSON.parse(request.responseText);
      } catch {
        // Not JSON (a proxy's error page, a sign-in page): the status says enough.
      }
      if (request.status >= 200 && request.status < 300 && data.id) resolve(data);
      else reject(new Error(data.detail || `The upload failed (${request.status}).`));
    });
    request.addEventListener("error", () => {
      reject(new Error("The upload failed: check the connection and try again."));
    });
    request.addEventListener("abort", () => reject(new UploadCancelled()));
  });
  const form = new FormData();
  form.append("file", file, file.name);
  request.open("POST", url);
  request.setRequestHeader("X-CSRFToken", csrfToken);
  request.setRequestHeader("Accept", "application/json");
  request.send(form);
  return { done, cancel: () => request.abort() };
}
