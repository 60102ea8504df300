"""Cause- and context-specific guidance for the template writer, so conversations of the same
term differ by what actually went wrong and where the customer is (not only by wording).
Keyed by the shipped glossary's ids; other glossaries simply get none."""

CAUSE_NOTES: dict[str, list[str]] = {
    "misconfiguration": [
        "Most of the time this comes down to one wrong setting, so we'll start with the settings.",
        "Settings are often changed by an update, a reset or a new device, so they're the first suspect.",
        "A single wrong or missing setting can cause exactly this, so let's check them carefully.",
    ],
    "network-outage": [
        "I can see work on our network in your area that can cause this, so part of it may be on our side.",
        "There's a known fault being worked on near you; the checks below rule out anything on your side.",
        "Our status system shows a problem in your area, so I'll check that alongside your setup.",
    ],
    "coverage-gap": [
        "Coverage changes a lot between places, and indoors versus outdoors, so your exact location matters.",
        "Where you are may simply not get a strong signal or this service, so let's confirm that first.",
        "Some areas are not covered by every network technology, which would explain this.",
    ],
    "hardware-fault": [
        "If nothing below changes the result, a part such as the SIM, cable or device itself may be failing.",
        "It's worth ruling out a faulty part, so testing with another device or cable helps here.",
        "Physical faults are less common, but this pattern can point to a damaged part.",
    ],
    "software-bug": [
        "Software faults can cause this, so having the latest updates installed matters.",
        "A recent update or an app bug can behave exactly like this.",
        "This pattern is often a software glitch, and a restart or update usually clears it.",
    ],
    "account-billing": [
        "I'll also check your account, since a plan limit, unpaid balance or bar can cause this.",
        "Account settings such as your plan, balance or a bar can stop this working, so I'll look at those.",
        "Sometimes the cause is on the account rather than the device, so I'll check that side too.",
    ],
    "user-error": [
        "This often comes down to how the feature is used, so I'll explain how it works as we go.",
        "It's an easy thing to trip over, and a small change in how it's used usually fixes it.",
        "Nothing seems broken here; it's mostly about using it the way it expects.",
    ],
    "congestion": [
        "At busy times many users share the same capacity, so note whether it's worse in the evening.",
        "When lots of people or devices compete for the same network, this is what it looks like.",
        "If it's worse at peak hours, congestion is the likely reason.",
    ],
    "third-party-issue": [
        "Sometimes the problem sits with another company, such as a bank, an app or another operator.",
        "This may be on the side of another provider rather than ours, so we'll check both.",
        "Another company involved, such as an app maker or a bank, can cause this too.",
    ],
    "security-compromise": [
        "Because this could involve someone else getting access, we'll secure your account first. "
        "Please never share codes you receive.",
        "This may be fraud, so first make sure nobody else can get into your account, and don't share any codes.",
        "We'll treat this as a possible security issue: change your passwords and never share one-time codes.",
    ],
}
CAUSE_STEPS: dict[str, str] = {
    "misconfiguration": "Compare each setting with the values on the operator's help page and correct any that differ",
    "network-outage": "Check the operator's service status page or app for faults or planned work at your address",
    "coverage-gap": "Check the operator's coverage map for your exact location and try again in another spot",
    "hardware-fault": "Try the SIM, cable or device in another working setup to see whether the fault follows the part",
    "software-bug": "Install any pending software updates for the device and the app, then restart",
    "account-billing": "Check the account for an unpaid balance, a bar or a plan limit in the operator's app",
    "user-error": "Go through how the feature is meant to be used, step by step, and try it again that way",
    "congestion": "Test again outside peak hours, for example early in the morning, and compare",
    "third-party-issue": "Contact the other provider involved, such as the bank, app or website, if the fault is on their side",
    "security-compromise": "Change the account password and PIN with the operator and turn on extra security",
}
CONTEXT_NOTES: dict[str, list[str]] = {
    "home": [
        "Since you're at home, it helps to know whether other devices in the house have the same problem.",
        "At home, checking another device on the same connection quickly shows where the problem is.",
    ],
    "travel-roaming": [
        "As you're away from home, your phone may be on a partner network, where some settings and charges differ.",
        "While travelling, the local partner network and your roaming settings both play a part.",
    ],
    "business": [
        "For a business, it's worth checking whether other users or lines are affected and whether your administrator changed anything.",
        "With several users at work, knowing if colleagues see the same problem helps narrow it down.",
    ],
}
CONTEXT_STEPS: dict[str, str] = {
    "home": "Check whether other devices at home show the same problem, which tells us if it is the line or one device",
    "travel-roaming": "Check that roaming is allowed on the account and note which partner network and country you are on",
    "business": "Ask whether colleagues or other lines see the same problem and whether your administrator changed any settings",
}
