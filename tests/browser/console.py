#!/usr/bin/python3
"""Drives the operator console in headless Chromium (Debian's chromium and
chromium-driver, through python3-selenium) against a running kakuin-server.

Called by tests/shell/test_console.sh, which starts the server, queues a
verification with a real `kakuin enroll`, and checks the client's renewal
between the phases:

  console.py approve   operator signs in, finds the request in the queue,
                       approves it with evidence and a PDF attachment;
                       dual control keeps it waiting for another operator
  console.py second    a second operator sees the first approval and
                       completes it
  console.py after     operator finds the issued certificate; an auditor's
                       console offers nothing that changes anything

Environment: KK_DOWNLOADS (where a download lands), KK_URL, KK_OP_TOKEN, KK_OP2_TOKEN, KK_AUD_TOKEN, KK_ORG, KK_PDF,
KK_ARTIFACTS (screenshots go there as console-*.png), KK_PROFILE.
Exits 1 with a message on the first thing that is not as expected.
"""
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import (StaleElementReferenceException,
                                        TimeoutException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

URL = os.environ["KK_URL"]
ORG = os.environ["KK_ORG"]
ART = os.environ["KK_ARTIFACTS"]

# Every control that changes something carries the class "mut"; these are
# the words such buttons say, in both languages, as a second check.
MUTATING = ["Approve", "Reject", "Suspend", "Revoke", "New EAB key",
            "承認", "却下", "停止", "失効", "EAB 鍵を発行"]


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def browser(lang):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
              "--disable-gpu", "--window-size=1280,1000",
              "--user-data-dir=" + os.environ["KK_PROFILE"] + "-" + lang,
              "--lang=" + lang, "--no-first-run"):
        opts.add_argument(a)
    opts.add_experimental_option("prefs", {
        "intl.accept_languages": lang,
        "download.default_directory": os.environ["KK_DOWNLOADS"],
        "download.prompt_for_download": False,
    })
    # The test server's CA is made for this run only.
    opts.set_capability("acceptInsecureCerts", True)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                         options=opts)
    d.set_page_load_timeout(30)
    return d


def wait(d, cond, what, timeout=15):
    try:
        return WebDriverWait(d, timeout).until(cond)
    except TimeoutException:
        shot(d, "failure")
        msg = d.find_element(By.ID, "msg").text
        fail("timed out waiting for %s (page says: %r)" % (what, msg))


def settled(d, look, what, timeout=15):
    """Waits until look(d) returns something true and returns it. look
    finds its elements afresh on every call and reads what it needs from
    them there: the console re-renders a view when its data arrives, so an
    element found a moment earlier may be gone (stale), and then look is
    simply called again."""
    def cond(drv):
        try:
            return look(drv)
        except StaleElementReferenceException:
            return False
    return wait(d, cond, what, timeout)


def click(d, css, what):
    """Clicks the element css selects, finding it again if a re-render
    replaced it between the find and the click."""
    def look(drv):
        els = drv.find_elements(By.CSS_SELECTOR, css)
        if not els:
            return False
        els[0].click()
        return True
    settled(d, look, what)


def row_view(css, inner=None):
    """A look for settled(): the first element css selects, as (its text,
    whether it holds an element inner selects), or False while there is
    none."""
    def look(drv):
        rows = drv.find_elements(By.CSS_SELECTOR, css)
        if not rows:
            return False
        has = inner is not None and \
            bool(rows[0].find_elements(By.CSS_SELECTOR, inner))
        return (rows[0].text, has)
    return look


def shot(d, name):
    path = os.path.join(ART, "console-%s.png" % name)
    d.save_screenshot(path)
    print("screenshot " + path)


def no_csp_violations(d):
    """The page ran under its Content-Security-Policy with no violation."""
    for e in d.get_log("browser"):
        if "Content Security Policy" in e.get("message", ""):
            fail("CSP violation: " + e["message"])


def sign_in(d, token):
    d.get(URL + "/console/")
    box = wait(d, EC.presence_of_element_located((By.ID, "token")),
               "the sign-in form")
    box.send_keys(token)
    d.find_element(By.ID, "signin").click()
    wait(d, EC.text_to_be_present_in_element((By.ID, "who"), "·"),
         "the operator's name after signing in")
    # The token is in sessionStorage, nowhere else the page can keep it.
    if d.execute_script("return localStorage.length") != 0:
        fail("something was put in localStorage")
    if d.execute_script("return document.cookie") != "":
        fail("a cookie was set")
    if d.execute_script("return sessionStorage.getItem('kakuin.token')") \
            != token:
        fail("the token is not in sessionStorage")


def phase_approve():
    d = browser("en")
    try:
        d.get(URL + "/console/")
        if d.execute_script("return document.documentElement.lang") != "en":
            fail("<html lang> is not en for an English browser")
        sign_in(d, os.environ["KK_OP_TOKEN"])
        text, age = settled(d, lambda drv: [
            (r.text, " ".join(a.text for a in r.find_elements(
                By.CLASS_NAME, "age")))
            for r in drv.find_elements(By.CSS_SELECTOR, "tr[data-id]")][:1]
            or False, "the queued verification")[0]
        if ORG not in text:
            fail("the queue row does not name %s: %r" % (ORG, text))
        if not age.strip():
            fail("the queue shows no age")
        shot(d, "queue")
        click(d, "tr[data-id]", "the queued verification")
        wait(d, EC.presence_of_element_located((By.ID, "approve-form")),
             "the approval form")
        if ORG not in d.find_element(By.ID, "v-org").text:
            fail("the detail does not show the organization")
        if "mailto:ops@example.jp" not in d.find_element(
                By.ID, "verification").text:
            fail("the detail does not show the contacts")
        d.find_element(By.ID, "method").send_keys("Documents")
        name = d.find_element(By.ID, "legal-name")
        name.clear()
        name.send_keys("Example Power KK")
        d.find_element(By.ID, "evidence").send_keys(
            "seal certificate checked; called the representative number")
        d.find_element(By.ID, "files").send_keys(os.environ["KK_PDF"])
        shot(d, "approve")
        d.find_element(By.ID, "approve").click()
        # Dual control (the test's policy wants two approvals): the first
        # one is recorded, and the page says whose it is and what waits.
        dual = wait(d, EC.presence_of_element_located((By.ID, "dual")),
                    "the dual-control notice")
        if "second" not in dual.text or "1 of 2" not in dual.text:
            fail("the dual-control notice says %r" % dual.text)
        if d.find_elements(By.ID, "approve-form"):
            fail("the first approver is offered to approve again")
        sha = settled(d, lambda drv: [
            r.get_attribute("data-sha") for r in drv.find_elements(
                By.CSS_SELECTOR, "#attachments tr[data-sha]")][:1] or False,
            "the attachment in the detail")[0]
        print("attachment " + sha)
        if "Approved by op1" not in d.find_element(By.ID, "approvals").text:
            fail("the detail does not say who approved")
        shot(d, "dual")
        no_csp_violations(d)
    finally:
        d.quit()


def phase_second():
    """A second operator completes the dual-control approval."""
    d = browser("en")
    try:
        sign_in(d, os.environ["KK_OP2_TOKEN"])
        text, _ = settled(d, row_view("tr[data-id]"),
                          "the half-approved request")
        if "1 / 2" not in text:
            fail("the queue does not count the first approval: %r" % text)
        click(d, "tr[data-id]", "the half-approved request")
        wait(d, EC.presence_of_element_located((By.ID, "approve-form")),
             "the second approval form")
        if "op1" not in d.find_element(By.ID, "approvals").text:
            fail("the second operator does not see who approved first")
        if d.find_element(By.ID, "legal-name").get_attribute("value") != \
                "Example Power KK":
            fail("the form does not carry the first approval's legal name")
        d.find_element(By.ID, "evidence").send_keys(
            "second check: registry extract attached by op1 reviewed")
        d.execute_script("window.scrollTo(0, 0)")
        shot(d, "second")  # the README's picture (docs/console.png)
        d.find_element(By.ID, "approve").click()
        wait(d, EC.presence_of_element_located(
            (By.CSS_SELECTOR, "#verification[data-status=valid]")),
            "the verification to become valid")
        if "Approved by op2" not in d.find_element(By.ID, "approvals").text:
            fail("the detail does not list the second approval")
        shot(d, "approved")
        no_csp_violations(d)
    finally:
        d.quit()


def assert_read_only(d, view):
    def look(drv):  # one rendering's controls (see settled)
        muts = [e.text for e in drv.find_elements(By.CSS_SELECTOR, ".mut")
                if e.is_displayed()]
        buttons = [b.text.strip() for b in
                   drv.find_elements(By.TAG_NAME, "button")
                   if b.is_displayed()]
        files = drv.find_elements(By.CSS_SELECTOR, "input[type=file]")
        return (muts, buttons, bool(files))
    muts, buttons, files = settled(d, look, "the auditor's " + view)
    if muts:
        fail("%s: the auditor sees controls that change things: %r"
             % (view, muts))
    for b in buttons:
        if b in MUTATING:
            fail("%s: the auditor sees a %r button" % (view, b))
    if files:
        fail("%s: the auditor may upload files" % view)


def phase_after():
    d = browser("ja")
    try:
        d.get(URL + "/console/")
        if d.execute_script("return document.documentElement.lang") != "ja":
            fail("<html lang> is not ja for a Japanese browser")
        sign_in(d, os.environ["KK_OP_TOKEN"])
        if "審査待ち" not in d.find_element(By.ID, "nav").text:
            fail("the Japanese console is not in Japanese")
        d.get(URL + "/console/#certs")
        box = wait(d, EC.presence_of_element_located((By.ID, "cert-org")),
                   "the certificate search")
        box.send_keys(ORG)
        d.find_element(By.ID, "cert-cn").send_keys("host-a")
        d.find_element(By.CSS_SELECTOR, "#cert-search button").click()
        # Text and button read from the same rendering of the row.
        text, revoke = settled(d, row_view("tr[data-serial]", "button.mut"),
                               "the issued certificate")
        if "host-a" not in text:
            fail("the certificate found is not host-a's: %r" % text)
        if not revoke:
            fail("the operator has no revoke button")
        shot(d, "certificates-ja")
        d.find_element(By.ID, "lang").click()
        wait(d, EC.text_to_be_present_in_element((By.ID, "nav"), "Queue"),
             "the switch to English")
        d.get(URL + "/console/#org/" + ORG)
        wait(d, EC.presence_of_element_located((By.ID, "eab-form")),
             "the organization's page")
        d.find_element(By.CSS_SELECTOR, "#eab-form button").click()
        kid = wait(d, EC.presence_of_element_located((By.ID, "eab-kid")),
                   "the new EAB key")
        if not kid.text or not d.find_element(By.ID, "eab-hmac").text:
            fail("the new EAB key is not shown")
        shot(d, "org")
        d.get(URL + "/console/#audit")
        wait(d, EC.presence_of_element_located(
            (By.CSS_SELECTOR, "tr[data-seq]")), "the audit log")
        text = d.find_element(By.ID, "main").text
        for action in ("verification.attach", "verification.approve",
                       "cert.issue"):
            if action not in text:
                fail("the audit log does not show " + action)
        shot(d, "audit")
        # The test made more events than a page holds: walk to the next.
        seqs = settled(d, lambda drv: [
            int(r.get_attribute("data-seq")) for r in
            drv.find_elements(By.CSS_SELECTOR, "tr[data-seq]")] or False,
            "the audit page's rows")
        if seqs != list(range(1, 51)):
            fail("the first audit page is not events 1 to 50: %r" % seqs)
        d.find_element(By.ID, "next-page").click()
        wait(d, EC.presence_of_element_located(
            (By.CSS_SELECTOR, "tr[data-seq='51']")), "the next audit page")
        if d.find_elements(By.CSS_SELECTOR, "tr[data-seq='50']"):
            fail("the next audit page repeats the first")
        if "eab.create" not in d.find_element(By.ID, "main").text:
            fail("the audit log does not show eab.create")
        d.find_element(By.ID, "first-page").click()
        wait(d, EC.presence_of_element_located(
            (By.CSS_SELECTOR, "tr[data-seq='1']")), "the first audit page")
        no_csp_violations(d)
        d.find_element(By.ID, "signout").click()
        if d.execute_script(
                "return sessionStorage.getItem('kakuin.token')") is not None:
            fail("signing out kept the token")

        sign_in(d, os.environ["KK_AUD_TOKEN"])
        if d.find_element(By.ID, "who").get_attribute("data-role") != \
                "auditor":
            fail("whoami does not say auditor")
        for view, ready in (("certs", "tr[data-serial]"),
                            ("org/" + ORG, "#org"),
                            ("orgs", "tr[data-id]"),
                            ("audit", "tr[data-seq]")):
            d.get(URL + "/console/#" + view)
            d.refresh()
            wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, ready)),
                 "the auditor's " + view)
            assert_read_only(d, view)
        # The decided verification, through the organization's history.
        d.get(URL + "/console/#org/" + ORG)
        d.refresh()
        wait(d, EC.presence_of_element_located(
            (By.CSS_SELECTOR, "#org")), "the organization")
        click(d, "tr.link", "the organization's verification")
        wait(d, EC.presence_of_element_located((By.ID, "verification")),
             "the verification, for the auditor")
        assert_read_only(d, "verification")
        # The auditor downloads the document the approval rests on.
        click(d, "#attachments tr[data-sha='%s'] button"
              % os.environ["KK_SHA"], "the approval's document")
        got = os.path.join(os.environ["KK_DOWNLOADS"],
                           os.environ["KK_SHA"][:16] + ".pdf")
        for _ in range(100):
            if os.path.exists(got):
                break
            time.sleep(0.1)
        else:
            fail("no download; the folder has %r"
                 % os.listdir(os.environ["KK_DOWNLOADS"]))
        with open(got, "rb") as f, open(os.environ["KK_PDF"], "rb") as g:
            if f.read() != g.read():
                fail("the downloaded document differs from the upload")
        shot(d, "auditor")
        no_csp_violations(d)
    finally:
        d.quit()


if __name__ == "__main__":
    {"approve": phase_approve, "second": phase_second,
     "after": phase_after}[sys.argv[1]]()
