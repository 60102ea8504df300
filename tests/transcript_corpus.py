"""A hand-written corpus of support transcripts with planted personal data, written in the three
import formats (OpenAI JSONL, ShareGPT JSON, per-turn CSV).

Dialogues are written with slots such as `{IMEI#1}`: the kind says what is planted and how it
is written, `#n` names the value within the dialogue (the same slot twice is the same value;
`PHONE_GB#1`, `PHONE_GB_INTL#1` and `MSISDN_GB#1` are one number written three ways). Values
are generated with valid check digits from a seed, so every planted value is a real-looking
IMEI, ICCID, IBAN, card number, phone number and so on.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers

from telcotune.privacy.checksums import luhn_check_digit

SLOT = re.compile(r"\{([A-Z0-9_]+)#(\d+)\}")
OPERATOR_PATTERNS = {"ACCOUNT": r"ACC-\d{8}", "CONTRACT": r"CTR-\d{6}"}

# Speakers: c customer, a agent, b bot, s system.
OPENAI_DIALOGUES = [
    [("b", "Hi! I'm the virtual assistant. What can I help you with today?"),
     ("c", "My 4G data stopped working yesterday. The number is {PHONE_GB_INTL#1}."),
     ("c", "I already restarted the phone twice."),
     ("a", "Sorry about that. I can see {PHONE_GB_INTL#1} on account {ACCOUNT#1}. Is the APN set to internet on your iPhone 15 Pro?"),
     ("c", "The APN was blank. The handset IMEI is {IMEI#1} and my backup line is {PHONE_GB#2}."),
     ("a", "Thanks, IMEI {IMEI#1} is not blocked. Set the APN to internet, toggle airplane mode and 4G should come back. I will text {PHONE_GB#1} a confirmation by SMS, and I noted {PHONE_GB_INTL#2} as the backup."),
     ("c", "Thanks!")],
    [("s", "You are the support agent of a mobile operator."),
     ("c", "Hello, I was charged £25.99 for roaming in Spain but I have a roaming bundle. Card on file is {CARD_VISA#1}."),
     ("a", "I can help. For security, please confirm the email on the account."),
     ("c", "It's {EMAIL#1}, and the contract number is {CONTRACT#1}."),
     ("a", "Thank you. The roaming bundle on {CONTRACT#1} started on 15/03/2024, after the charge. I have refunded £25.99 to the card ending in the last four digits of {CARD_VISA#1}, and a receipt goes to {EMAIL#1}."),
     ("c", "Could you also update my address to {STREET#1}, {POSTCODE_UK#1}? And my IBAN for direct debit is {IBAN_GB#1}."),
     ("a", "Done: {STREET#1}, {POSTCODE_UK#1} is saved and the direct debit now uses {IBAN_GB#1}.")],
    [("c", "My new SIM doesn't activate. The ICCID printed on it is {ICCID#1}."),
     ("a", "Let me check. I see ICCID {ICCID#1} was paired with IMSI {IMSI#1}. Is the nano-SIM in the first tray of your Galaxy S23?"),
     ("c", "Yes. The phone says PIN required and I don't know the PIN."),
     ("a", "The default PIN is printed on the SIM card holder. If you enter it wrong three times you will need the PUK. Your PUK code is {PUK#1}; keep it private."),
     ("c", "Got it, it works now. Can you send the details to {EMAIL#1} and my colleague {EMAIL#2}?"),
     ("a", "Sent to {EMAIL#1} and {EMAIL#2}. Your eSIM option stays available in the app if the SIM tray breaks.")],
    [("c", "The fibre router shows a red LOS light since 10:30 this morning."),
     ("a", "A red LOS light on the ONT means the optical signal is lost. What is the MAC of the router? It is on the label."),
     ("c", "MAC {MAC#1}, model HG8245H. The public IP was {IPV4#1} before it went down."),
     ("a", "I see {MAC#1} online until 10:29. I am sending a technician to {STREET#1}. The fibre FTTH line should be restored within 24 hours. Your service address postcode is {POSTCODE_UK#1}, correct?"),
     ("c", "Correct. Also my laptop at {IPV4_LAN#1} can't reach the gateway 192.168.1.1."),
     ("a", "That is expected without the fibre signal. Once fixed, {IPV4_LAN#1} will get a new DHCP lease from 192.168.1.1 with subnet mask 255.255.255.0.")],
    [("c", "Hi, I'm in the US and calls don't connect. My US number is {PHONE_US#1}."),
     ("a", "Hi! Is VoLTE enabled? Calls to {PHONE_US_INTL#1} are failing at the network side, which usually means VoLTE is off on the Pixel 8."),
     ("c", "VoLTE was off. My wife has the same issue on {PHONE_US#2}."),
     ("a", "Please turn on VoLTE under Settings, then Network. For {PHONE_US#2} I have reset the profile. Both lines use Band 66 and 5G n71 here."),
     ("c", "Working now. Please bill the fix to card {CARD_MC#1}, billing zip {US_CITY_ZIP#1}."),
     ("a", "There is no charge for this fix, so card {CARD_MC#1} was not used. Your billing address in {US_CITY_ZIP#1} is unchanged.")],
    [("c", "My Wi-Fi keeps dropping on the 2.4 GHz band but 5 GHz is fine."),
     ("a", "That is often interference. Which router do you have, and what is its serial or MAC?"),
     ("c", "A FRITZ!Box 7590, MAC {MAC_DASH#1}. The IPv6 address it shows is {IPV6#1}."),
     ("a", "Thanks. Move the 2.4 GHz channel to 1, 6 or 11 and keep WPA2 or WPA3 on. Your router {MAC_DASH#1} has firmware 7.57 and the address {IPV6#1} is fine."),
     ("c", "Changed it. Can you email the steps to {EMAIL#1}? Account {ACCOUNT#1}."),
     ("a", "Sent the Wi-Fi steps for account {ACCOUNT#1} to {EMAIL#1}. Speeds should be back to 300 Mbps.")],
    [("c", "I want to port my number {PHONE_DE#1} to you from another operator."),
     ("a", "Happy to help. We need your current contract number and the IBAN for the first payment."),
     ("c", "Contract {CONTRACT#1}, IBAN {IBAN_DE#1}. I live at {DE_STREET#1}."),
     ("a", "Thank you. Porting {PHONE_DE#1} takes one working day. The direct debit from {IBAN_DE#1} starts next month, and the new SIM goes to {DE_STREET#1}."),
     ("c", "Will my 5G work right away?"),
     ("a", "Yes, 5G works once the port completes. The price is €15 per month for 50GB, with a 24 months contract.")],
    [("c", "I lost my phone. Please block it. IMEI {IMEI_GROUPED#1}."),
     ("a", "I'm sorry to hear that. I've blocked IMEI {IMEI_GROUPED#1} on all networks. Do you want a replacement SIM for {PHONE_FR#1}?"),
     ("c", "Yes please, send it to {STREET#1}. Also block my second device, IMEI {IMEI#2}."),
     ("a", "Done: {IMEI#2} is blocked too. The replacement SIM for {PHONE_FR#1} will arrive at {STREET#1} in 2 days. Dial *#06# on the new phone to see its IMEI."),
     ("c", "My French line is {PHONE_FR#1}, right? And my email is {EMAIL#1}."),
     ("a", "Yes, {PHONE_FR#1} is right, and the confirmation goes to {EMAIL#1}.")],
    [("c", "Why is my bill $49.99 this month instead of $39.99?"),
     ("a", "Let me look. Which account number is it?"),
     ("c", "{ACCOUNT#1}. Payment was from card {CARD_AMEX#1}."),
     ("a", "On {ACCOUNT#1} there is a one-time $10 charge for an international call to {PHONE_GB_INTL#1} on 2024-03-15. The card {CARD_AMEX#1} was charged $49.99 correctly."),
     ("c", "That call was to my mother. Can you add an international bundle?"),
     ("a", "Yes, the international bundle is $5 per month and covers calls to {PHONE_GB_INTL#1}. Text STOP to 88088 to cancel it at any time.")],
    [("c", "Hello, mobile data is very slow, only 2 Mbps on LTE."),
     ("a", "Let me run a check on your line. Can you confirm the mobile number?"),
     ("c", "It's {MSISDN_GB#1} (that's how your app shows it). IMSI {IMSI#1} if you need it."),
     ("a", "Thanks, {PHONE_GB#1} is on a congested cell. Signal is -95 dBm with low SINR. Try switching to 5G in Settings, Mobile data, Voice and data."),
     ("c", "Better now, 180 Mbps. Can you note it on contract {CONTRACT#1}?"),
     ("a", "Noted on {CONTRACT#1}. If it drops again, call 150 from your mobile or 0800 800 150 from a landline, free of charge.")],
]

SHAREGPT_DIALOGUES = [
    [("s", "You are a helpful telecom support assistant."),
     ("c", "My broadband is down. Account {ACCOUNT#1}, router MAC {MAC_CISCO#1}."),
     ("a", "I see router {MAC_CISCO#1} on account {ACCOUNT#1} lost sync at 09:12. Is the DSL light on your TP-Link Archer C6 green?"),
     ("c", "It's blinking. My public IP {IPV4#1} also changed this morning."),
     ("a", "A blinking DSL light means the VDSL line is training. Your new public IP will differ from {IPV4#1} after the reset. Please restart the router and wait 5 minutes."),
     ("c", "Done, it's green now. Send the report to {EMAIL#1}."),
     ("a", "The report for account {ACCOUNT#1} is on its way to {EMAIL#1}.")],
    [("c", "Hi, I'd like to pay my bill by card: {CARD_VISA#1}."),
     ("a", "I can't take card details in chat for security. Please use the app. Which account is it for?"),
     ("c", "Account {ACCOUNT#1}. My phone is {PHONE_GB#1} if you need to call back."),
     ("a", "Thank you. I have sent a secure payment link by SMS to {PHONE_GB#1}. Please never share a card number such as {CARD_VISA#1} in chat again."),
     ("c", "Sorry! Also, can I change the direct debit to IBAN {IBAN_NL#1}?"),
     ("a", "Yes, the direct debit for {ACCOUNT#1} now uses {IBAN_NL#1} from next month.")],
    [("c", "I'm travelling to Canada. Will my eSIM work there?"),
     ("a", "Yes, roaming works in Canada on partner networks. Is roaming enabled for your number?"),
     ("c", "Number is {PHONE_GB_INTL#1}. The eSIM ICCID is {ICCID_GROUPED#1}."),
     ("a", "I see the eSIM with ICCID {ICCID_GROUPED#1} on {PHONE_GB_INTL#1}. Roaming is now enabled. The Canada pass costs £5 per day with 1GB of data."),
     ("c", "Great. My hotel address is {US_CITY_ZIP#1}, in case you need it."),
     ("a", "Not needed, but thanks. Enjoy your trip, and dial 112 or 911 in an emergency.")],
    [("c", "My phone shows SIM not provisioned MM#2."),
     ("a", "That message means the network doesn't recognise the SIM. What is the ICCID?"),
     ("c", "ICCID {ICCID#1}. The IMSI in the settings says {IMSI#1}."),
     ("a", "Thanks. ICCID {ICCID#1} was never activated. I have activated it now, linked to IMSI {IMSI#1}. Restart the phone."),
     ("c", "It works. My email for the confirmation: {EMAIL#1}."),
     ("a", "Confirmation sent to {EMAIL#1}. Your PIN is the one on the SIM card holder.")],
    [("c", "Someone is calling me from {PHONE_US_INTL#1} every night. Can you block it?"),
     ("a", "I'm sorry. I've added {PHONE_US_INTL#1} to the block list on your line. Which number should the block apply to?"),
     ("c", "My number, {PHONE_GB#1}, and my son's, {PHONE_GB#2}."),
     ("a", "Both {PHONE_GB#1} and {PHONE_GB#2} now block {PHONE_US_INTL#1}. You can also enable call screening with the USSD code *100#."),
     ("c", "Thank you so much."),
     ("a", "You're welcome. If it continues, report it to the police with the number {PHONE_US#1}.")],
    [("c", "The speed test shows 40 Mbps but I pay for 1 Gbps FTTH."),
     ("a", "Is the test over Wi-Fi or over cable to the ONT?"),
     ("c", "Over Wi-Fi. My PC is {IPV4_LAN#1}, MAC {MAC#1}."),
     ("a", "Wi-Fi on 2.4 GHz caps the speed. Connect {IPV4_LAN#1} by cable or use 5 GHz. I can see {MAC#1} connected at 40 Mbps on 2.4 GHz."),
     ("c", "On cable it's 940 Mbps. Thanks. My address for the records is {STREET#1}, {POSTCODE_UK#1}."),
     ("a", "Recorded {STREET#1}, {POSTCODE_UK#1}. 940 Mbps is the expected maximum for a 1 Gbps line.")],
    [("c", "I need a PUK code. My phone is locked."),
     ("a", "I can help. Please confirm the number and the date of birth on the account."),
     ("c", "Number {PHONE_DE#1}, born 12/05/1985. Contract {CONTRACT#1}."),
     ("a", "Thank you. For {PHONE_DE#1} on contract {CONTRACT#1}, the PUK is {PUK#1}. After the PUK you will set a new PIN."),
     ("c", "Unlocked! Can you also change my contact email to {EMAIL#1}?"),
     ("a", "Done, {EMAIL#1} is now the contact email on {CONTRACT#1}.")],
    [("c", "My new Galaxy S23 says invalid IMEI."),
     ("a", "Let me check the IMEI. Dial *#06# and read it to me."),
     ("c", "It shows {IMEI#1}. The old phone was {IMEI_GROUPED#2}."),
     ("a", "IMEI {IMEI#1} is valid and not blocked; {IMEI_GROUPED#2} was blocked after the theft report. Please remove and reinsert the SIM."),
     ("c", "Still invalid. Here's my IPv6 from the hotspot: {IPV6#1}."),
     ("a", "Thanks, the hotspot address {IPV6#1} looks normal. Please update to Android 14 and try again; the IMEI check often fails on old firmware.")],
    [("c", "Please cancel my contract {CONTRACT#1}. I'm moving abroad."),
     ("a", "Sorry to see you go. Your contract has a 12-month minimum term and ends on 2024-09-30. Do you want to cancel at the end of the term?"),
     ("c", "Yes. Send the final bill to {EMAIL#1} and refund to {IBAN_ES#1}."),
     ("a", "Done. The final bill goes to {EMAIL#1} and any credit will be refunded to {IBAN_ES#1}. Please return the router to {STREET#1}."),
     ("c", "My new address in Germany is {DE_STREET#1}."),
     ("a", "Saved {DE_STREET#1} for the final letter. You can keep the number with a PAC code by texting PAC to 65075.")],
    [("c", "I got a text asking me to call {PHONE_GB_INTL#1} about a prize. Is it you?"),
     ("a", "No, that is not us. Please do not call {PHONE_GB_INTL#1}. Forward the text to 7726 to report spam."),
     ("c", "Ok. They also asked for my card {CARD_MC#1} and I think I typed it in."),
     ("a", "Please call your bank now and block {CARD_MC#1}. I have flagged your line {PHONE_GB#2} for fraud monitoring."),
     ("c", "Thanks. My account is {ACCOUNT#1}."),
     ("a", "Flag added on {ACCOUNT#1}. We will never ask for your PIN, PUK or card details by text.")],
]

CSV_DIALOGUES = [
    [("b", "Welcome to support. Please describe your issue."),
     ("c", "The MMS pictures don't download on my phone {PHONE_GB#1}."),
     ("a", "MMS needs mobile data and the right MMS APN. Is mobile data on for {PHONE_GB#1}?"),
     ("c", "Yes. My IMEI is {IMEI#1} if that matters."),
     ("a", "IMEI {IMEI#1} is an iPhone 14, which gets the MMS settings automatically. Please reset network settings, then MMS will download over 4G."),
     ("c", "It works. Email me the guide at {EMAIL#1}."),
     ("a", "The MMS guide is on its way to {EMAIL#1}.")],
    [("c", "My home phone line is dead. Number {PHONE_GB#1}."),
     ("a", "I'm sorry. Is the line connected through the router or directly to the wall socket?"),
     ("c", "Through the router, a {MAC#1} device according to the sticker."),
     ("a", "Thanks. The router {MAC#1} has a VoIP fault. I have reset the line {PHONE_GB#1}. Restart the router at {STREET#1} and the dial tone should return."),
     ("c", "Yes, dial tone is back."),
     ("a", "Great. VoIP lines need the router powered on, so keep it on for 999 calls.")],
    [("c", "I want to upgrade to the 5G unlimited plan."),
     ("a", "Sure. The 5G unlimited plan is £35 per month on a 24 months contract. Which account?"),
     ("c", "Account {ACCOUNT#1}, contract {CONTRACT#1}."),
     ("a", "Upgraded {ACCOUNT#1} from contract {CONTRACT#1} to 5G unlimited from 01/04/2024. Pay by the card on file or a new one?"),
     ("c", "New card: {CARD_VISA#1}."),
     ("a", "Card {CARD_VISA#1} saved. Your first 5G bill is £35.")],
    [("c", "The Wi-Fi name disappeared. I can't find my SSID."),
     ("a", "The router may have reset to factory settings. Is the SSID on the label now showing?"),
     ("c", "Yes, the label one. The router admin page says WAN IP {IPV4#1}."),
     ("a", "The router got a new WAN IP {IPV4#1}, which confirms a reset. Log in at 192.168.1.1 and set your SSID and WPA2 password again."),
     ("c", "Done. My email for the receipt is {EMAIL#1}, and the device is {MAC_DASH#1}."),
     ("a", "Receipt sent to {EMAIL#1}. Device {MAC_DASH#1} is now on the new SSID.")],
    [("c", "Can I get a SIM-only deal and keep my number {PHONE_FR#1}?"),
     ("a", "Yes. Please give me the ICCID of the SIM you received."),
     ("c", "ICCID {ICCID_GROUPED#1}."),
     ("a", "ICCID {ICCID_GROUPED#1} is ready. Your number {PHONE_FR#1} will move to it tonight. The SIM-only deal is €10 per month with 20GB."),
     ("c", "Bank for the debit: {IBAN_DE#1}."),
     ("a", "The debit is set up from {IBAN_DE#1}.")],
    [("c", "My bill shows premium SMS charges I never made."),
     ("a", "I'll check. What is the number on the bill?"),
     ("c", "It's {PHONE_US#1} according to my records, and the premium charges are to 80888."),
     ("a", "The premium SMS to 80888 are a subscription. I have blocked premium SMS on {PHONE_US#1} and refunded $12.50. Your billing address is {US_CITY_ZIP#1}?"),
     ("c", "Yes, {US_CITY_ZIP#1}."),
     ("a", "Thanks, the refund of $12.50 will appear on the next bill.")],
    [("c", "Hi, how do I set up Wi-Fi calling?"),
     ("a", "Go to Settings, Phone, Wi-Fi Calling and turn it on. Add an emergency address when asked."),
     ("c", "The emergency address is {STREET#1}, {POSTCODE_UK#1}."),
     ("a", "That works. Wi-Fi calling needs VoWiFi support, which your iPhone 15 Pro has. Calls will show HD over Wi-Fi."),
     ("c", "My number is {PHONE_GB_INTL#1} and calls still go over 4G."),
     ("a", "For {PHONE_GB_INTL#1}, Wi-Fi calling is now provisioned. Restart the phone and calls will use Wi-Fi when 4G is weak.")],
    [("c", "Port forwarding for my game server isn't working."),
     ("a", "Which port, and what is the local IP of the server?"),
     ("c", "Port 25565 to {IPV4_LAN#1}. My public IP is {IPV4#1} and it's on CGNAT I think."),
     ("a", "Yes, {IPV4#1} is shared, so port 25565 can't reach {IPV4_LAN#1}. I can give you a public IPv4 for £5 per month, or you can use IPv6: your prefix {IPV6#1} is public."),
     ("c", "Use IPv6 please. Account {ACCOUNT#1}."),
     ("a", "Noted on {ACCOUNT#1}. Open port 25565 on {IPV6#1} in the router firewall.")],
    [("c", "I'd like a refund for the outage last week."),
     ("a", "Sorry for the outage. The credit for 3 days is £4.50. Where should we send it?"),
     ("c", "Refund to IBAN {IBAN_GB#1}, account {ACCOUNT#1}."),
     ("a", "The £4.50 credit for {ACCOUNT#1} will be paid to {IBAN_GB#1} within 5 working days."),
     ("c", "Also my PUK didn't work last time. Can you resend it?"),
     ("a", "Your PUK is {PUK#1}. After 10 wrong PUK entries the SIM is blocked for good.")],
    [("c", "My son's phone {PHONE_DE#1} has no signal at school."),
     ("a", "I'll check coverage. What is the school's address?"),
     ("c", "{DE_STREET#1}, in the city centre."),
     ("a", "At {DE_STREET#1} there is 4G on Band 20 at 800 MHz but weak 5G. The IMSI for {PHONE_DE#1} is {IMSI#1}, I have refreshed its network registration."),
     ("c", "Thanks, and can you send the coverage map to {EMAIL#1}?"),
     ("a", "The coverage map for {DE_STREET#1} is on its way to {EMAIL#1}.")],
]

OPENAI_DIALOGUES += [
    [("a", "Thanks for calling. Before we start, I need to verify the account holder."),
     ("c", "Sure. Account {ACCOUNT#1}, mobile {PHONE_GB#1}, email {EMAIL#1}."),
     ("a", "Thank you. And the first line of the billing address?"),
     ("c", "{STREET#1}, {POSTCODE_UK#1}. The direct debit is from {IBAN_GB#1}."),
     ("a", "Verified. I see two SIMs on {ACCOUNT#1}: ICCID {ICCID#1} and ICCID {ICCID#2}. Which one has the problem?"),
     ("c", "The second one. Its handset is IMEI {IMEI#1} and it has no 4G since the upgrade."),
     ("a", "The second SIM is still provisioned for 3G only. I have moved it to 4G and 5G; restart the handset {IMEI#1} and check the APN.")],
    [("c", "Hi, I'm updating my details after moving. New address {US_CITY_ZIP#1}, new mobile {PHONE_US#1}."),
     ("a", "Welcome to your new place! I have updated the mobile to {PHONE_US#1}. What is the street address?"),
     ("c", "{STREET#1}. Keep my old number {PHONE_US#2} on the account too, it is my work phone."),
     ("a", "Both {PHONE_US#1} and {PHONE_US#2} stay on the plan. For billing, do you want to keep the card ending in the last digits of {CARD_VISA#1}?"),
     ("c", "No, use {CARD_MC#1} from now on. My email also changed to {EMAIL#1}."),
     ("a", "Updated: card {CARD_MC#1}, email {EMAIL#1}, address {STREET#1}, {US_CITY_ZIP#1}. Your 5G home internet router will ship there in 3 days.")],
    [("c", "The router keeps rebooting. Serial label: MAC {MAC#1}, WAN IP {IPV4#1}."),
     ("a", "Thanks. The logs for {MAC#1} show the DSL sync dropping every hour. Is there a second router on the network?"),
     ("c", "There's a mesh point, MAC {MAC_DASH#2}, at {IPV4_LAN#1}. And my IPv6 prefix is {IPV6#1}."),
     ("a", "The mesh point {MAC_DASH#2} at {IPV4_LAN#1} is also running a DHCP server, which conflicts with the router. Turn DHCP off on the mesh point."),
     ("c", "Done. Send a note to {EMAIL#1}, and my landline for the engineer is {PHONE_GB#1}."),
     ("a", "Noted. If the DSL drops again, the engineer will call {PHONE_GB#1}; the summary is on its way to {EMAIL#1}.")],
    [("c", "I'm a small business with three lines. I need a new contract covering all of them."),
     ("a", "Happy to help. Please list the numbers and the current contract reference."),
     ("c", "Numbers {PHONE_DE#1}, {PHONE_DE#2} and {PHONE_FR#1}. The contract is {CONTRACT#1}."),
     ("a", "Thanks. I can move {PHONE_DE#1}, {PHONE_DE#2} and {PHONE_FR#1} to a business plan with shared 100GB for €60 per month. How do you pay?"),
     ("c", "Bank transfer from {IBAN_DE#1}. Company address {DE_STREET#1}, invoices to {EMAIL#1}."),
     ("a", "The new business contract replaces {CONTRACT#1}. Invoices go to {EMAIL#1}, payments from {IBAN_DE#1}, post to {DE_STREET#1}.")],
    [("c", "Someone ordered a SIM swap on my line without asking me!"),
     ("a", "That is serious; I'll lock the account now. What's your number and the IMSI or ICCID on your current SIM?"),
     ("c", "Number {PHONE_GB_INTL#1}, ICCID {ICCID_GROUPED#1}, IMSI {IMSI#1}."),
     ("a", "The swap moved {PHONE_GB_INTL#1} to a new SIM with IMSI {IMSI#2}. I have reversed it to ICCID {ICCID_GROUPED#1} and added a port-out lock."),
     ("c", "They also changed the email to {EMAIL#2}. Mine is {EMAIL#1}."),
     ("a", "Changed back from {EMAIL#2} to {EMAIL#1}. A new PUK is {PUK#1}; set a new PIN after restarting.")],
]

SHAREGPT_DIALOGUES += [
    [("c", "Hello, I need to verify my identity to change the plan."),
     ("a", "Certainly. Please give me the account number, the phone number and the email on file."),
     ("c", "Account {ACCOUNT#1}, phone {PHONE_GB#1}, email {EMAIL#1}."),
     ("a", "Thanks. One more check: the billing postcode?"),
     ("c", "{POSTCODE_UK#1}, house {STREET#1}. Card on file is {CARD_AMEX#1}."),
     ("a", "All verified for {ACCOUNT#1}. Your plan now has 5G and unlimited SMS; card {CARD_AMEX#1} will be charged £30 from next month, with a receipt to {EMAIL#1}.")],
    [("c", "Data roaming doesn't work in Germany. My line: {PHONE_GB_INTL#1}."),
     ("a", "Is data roaming switched on in the phone settings? And which handset, please, with the IMEI?"),
     ("c", "It's on. The IMEI is {IMEI#1}, and I'm staying at {DE_STREET#1}."),
     ("a", "IMEI {IMEI#1} is fine. Your line {PHONE_GB_INTL#1} was on the wrong roaming partner; I've steered it to a partner with 4G and LTE-M. Choose the network manually if it continues."),
     ("c", "Works now. Can you also send me the hotspot settings? My laptop's MAC is {MAC#1}."),
     ("a", "For the hotspot, allow {MAC#1} in the device list and use WPA3. The roaming pass is £2 per day.")],
    [("c", "My credit check failed when I tried to get a phone on contract."),
     ("a", "I'm sorry. The check uses the address history. What address did you give?"),
     ("c", "{STREET#1}, {POSTCODE_UK#1}; before that {STREET#2}, {POSTCODE_UK#2}."),
     ("a", "The agency has {STREET#2}, {POSTCODE_UK#2} as current. Please update it with them. Meanwhile we can offer SIM-only on account {ACCOUNT#1}."),
     ("c", "OK, SIM-only then, paid from {IBAN_GB#1}. Call me on {PHONE_GB#1} when it ships."),
     ("a", "SIM-only ordered on {ACCOUNT#1}, direct debit from {IBAN_GB#1}. We will call {PHONE_GB#1} when it ships.")],
    [("c", "Our office network is slow. The firewall at {IPV4#1} shows high latency to your DNS."),
     ("a", "Which DNS servers do you use, and what's the office line reference?"),
     ("c", "8.8.8.8 and yours. Contract {CONTRACT#1}. The core switch is {MAC_CISCO#1} on {IPV4_LAN#1}."),
     ("a", "Your line on {CONTRACT#1} is fine; the latency starts after {IPV4#1}. Try 1.1.1.1 as a test. The switch {MAC_CISCO#1} reports MTU 1500, which is correct."),
     ("c", "Using 1.1.1.1 fixed it. Our IPv6 block is {IPV6#1} if you need it for the ticket."),
     ("a", "Added {IPV6#1} to the ticket for contract {CONTRACT#1}. Keep 1.1.1.1 as the secondary resolver.")],
    [("c", "I'd like to add my daughter to my plan. Her phone is {PHONE_FR#1}."),
     ("a", "Great, a family line. I need her phone's IMEI and an email for her account."),
     ("c", "IMEI {IMEI_GROUPED#1}, email {EMAIL#1}. Mine is {EMAIL#2}."),
     ("a", "Added {PHONE_FR#1} with IMEI {IMEI_GROUPED#1}. {EMAIL#1} gets her login and {EMAIL#2} stays as the bill payer. Her eSIM QR code goes to {EMAIL#1}."),
     ("c", "Pay with {CARD_VISA#1}, please."),
     ("a", "The family line is €8 per month on {CARD_VISA#1}, starting on the next bill.")],
]

CSV_DIALOGUES += [
    [("c", "I'm calling about a missing refund on account {ACCOUNT#1}."),
     ("a", "I can look into it. Which payment method was charged?"),
     ("c", "Card {CARD_VISA#1} on 2024-03-15, and my bank IBAN is {IBAN_GB#1}."),
     ("a", "The refund of £19.99 went to {CARD_VISA#1}, not to {IBAN_GB#1}. It can take 5 working days to appear."),
     ("c", "Fine. Also my phone {PHONE_GB#1} is getting spam from {PHONE_US_INTL#1}."),
     ("a", "I've blocked {PHONE_US_INTL#1} on {PHONE_GB#1}. Your refund confirmation is on account {ACCOUNT#1}.")],
    [("c", "A technician was supposed to come to {STREET#1} today."),
     ("a", "Let me check. Is it the fibre installation at {STREET#1}, {POSTCODE_UK#1}?"),
     ("c", "Yes. Phone me at {PHONE_GB#1} or my partner at {PHONE_GB#2}."),
     ("a", "The visit moved to tomorrow 08:00-12:00. The technician will call {PHONE_GB#1} first, then {PHONE_GB#2}. They will install the ONT and the router."),
     ("c", "Send the appointment to {EMAIL#1}."),
     ("a", "The appointment details for {STREET#1} are on their way to {EMAIL#1}.")],
    [("c", "My tablet SIM has no data. ICCID {ICCID#1}, IMSI {IMSI#1}."),
     ("a", "That SIM is data-only. ICCID {ICCID#1} shows the data bundle ran out on 01/04/2024."),
     ("c", "Add 10GB please, on contract {CONTRACT#1}, card {CARD_MC#1}."),
     ("a", "10GB added to {CONTRACT#1} for £10, charged to {CARD_MC#1}. IMSI {IMSI#1} is re-registered on LTE."),
     ("c", "And the tablet's IMEI is {IMEI#1}, in case it needs unlocking."),
     ("a", "IMEI {IMEI#1} is not locked to a network, so no unlock is needed.")],
    [("c", "Guten Tag, mein Anschluss {PHONE_DE#1} hat kein Internet."),
     ("a", "Hello! I can help in English. Is the DSL light on the router green?"),
     ("c", "It's red. The router is at {DE_STREET#1}, MAC {MAC#1}."),
     ("a", "A red DSL light means no sync. I see {MAC#1} offline since 07:45. I'll open a fault for {PHONE_DE#1}; a technician will visit {DE_STREET#1}."),
     ("c", "Thanks. Email {EMAIL#1}, and the bank account for compensation is {IBAN_DE#1}."),
     ("a", "Fault ticket sent to {EMAIL#1}. Compensation for the outage will be paid to {IBAN_DE#1}.")],
    [("c", "My US number {PHONE_US#1} isn't receiving verification SMS from my bank."),
     ("a", "Some banks send from short codes. Is short code blocking on for {PHONE_US#1}?"),
     ("c", "I don't know. My email is {EMAIL#1}; address {US_CITY_ZIP#1}."),
     ("a", "Short code blocking was on. I turned it off for {PHONE_US#1}, so SMS from short codes such as 72975 will arrive now."),
     ("c", "Got it. Also my second line {PHONE_US#2} has the same problem."),
     ("a", "Turned off short code blocking for {PHONE_US#2} too. A confirmation is on its way to {EMAIL#1}.")],
]

REJECTED_DIALOGUES = [  # no assistant turn: rejected with a reason, their values never written
    [("c", "Hello? My IMEI is {IMEI#1} and my email {EMAIL#1}, nobody answers."),
     ("c", "Call me back on {PHONE_GB_INTL#1} please.")],
    [("c", "I sent my card {CARD_VISA#1} and IBAN {IBAN_GB#1} by mistake, please delete them.")],
]

TELECOM_WORDS = [
    "APN", "4G", "5G", "LTE", "VoLTE", "VoWiFi", "Wi-Fi calling", "eSIM", "SIM", "nano-SIM", "PIN", "PUK",
    "IMEI", "ICCID", "IMSI", "roaming", "SMS", "MMS", "USSD", "*#06#", "*100#", "300 Mbps", "1 Gbps", "940 Mbps",
    "2.4 GHz", "5 GHz", "800 MHz", "Band 20", "Band 66", "n71", "-95 dBm", "SINR", "LOS", "ONT", "FTTH", "VDSL",
    "DSL", "DHCP", "WPA2", "WPA3", "SSID", "IPv6", "CGNAT", "port 25565", "192.168.1.1", "255.255.255.0",
    "firmware 7.57", "Android 14", "HG8245H", "FRITZ!Box 7590", "TP-Link Archer C6", "iPhone 15 Pro", "iPhone 14",
    "Galaxy S23", "Pixel 8", "MM#2", "£25.99", "€15", "$49.99", "$12.50", "£4.50", "50GB", "20GB", "1GB",
    "15/03/2024", "2024-03-15", "01/04/2024", "2024-09-30", "10:30", "09:12", "24 months", "12-month",
    "150", "0800 800 150", "88088", "80888", "65075", "7726", "112", "911", "999", "72975", "8.8.8.8", "1.1.1.1",
    "MTU 1500", "LTE-M", "£19.99", "100GB", "10GB", "08:00-12:00", "07:45",
]


# -- planted values -------------------------------------------------------------------------

def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _luhn(payload: str) -> str:
    return payload + luhn_check_digit(payload)


def _iban(rng: random.Random, country: str, bban: str) -> str:
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    check = 98 - int(numeric) % 97
    return f"{country}{check:02d}{bban}"


def _grouped(text: str, size: int = 4) -> str:
    return " ".join(text[i:i + size] for i in range(0, len(text), size))


_PHONE_SHAPES = {  # region: (country code, national significant number generator)
    "GB": lambda r: "7" + r.choice("4579") + _digits(r, 8),
    "US": lambda r: r.choice(["212", "312", "415", "617", "702"]) + r.choice("23456789") + _digits(r, 6),
    "DE": lambda r: "15" + r.choice("127") + _digits(r, 8),
    "FR": lambda r: r.choice("67") + _digits(r, 8),
}


def _phone(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    while True:
        number = phonenumbers.parse(_PHONE_SHAPES[region](rng), region)
        if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
                phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
            return number


STREET_NAMES = ["Elm Grove", "Old Mill", "Station", "Victoria", "Church", "Queens", "Cedar", "Willow Bank",
                "Harbour", "North Hill", "Maple", "Kingfisher"]
STREET_TYPES = ["Road", "Street", "Avenue", "Lane", "Close", "Drive", "Way", "Crescent"]
US_CITIES = [("Portland", "OR"), ("Austin", "TX"), ("Denver", "CO"), ("Columbus", "OH"), ("Raleigh", "NC")]
DE_STREETS = ["Lindenstraße", "Bergweg", "Schillerstraße", "Rosengasse"]
EMAIL_NAMES = ["maria.lopez", "j.okafor", "anna-lena.schmidt", "tom_baker", "li.wei", "p.dubois", "sam.r"]
EMAIL_DOMAINS = ["gmail.com", "outlook.co.uk", "web.de", "orange.fr", "example-isp.net", "mail.internal"]


def _value(rng: random.Random, kind: str, phones: dict) -> str:  # noqa: C901 - one branch per kind
    if kind == "IMEI":
        return _luhn("35" + _digits(rng, 12))
    if kind == "IMEI_GROUPED":
        imei = _luhn("35" + _digits(rng, 12))
        return f"{imei[:2]}-{imei[2:8]}-{imei[8:14]}-{imei[14]}"
    if kind == "ICCID":
        return _luhn("8944" + _digits(rng, 14))
    if kind == "ICCID_GROUPED":
        return _grouped(_luhn("8949" + _digits(rng, 15)))
    if kind == "IMSI":
        prefix = rng.choice(["23415", "26201", "20801", "310260"])  # MCC + MNC
        return prefix + _digits(rng, 15 - len(prefix))
    if kind.startswith(("PHONE_", "MSISDN_")):
        region = kind.split("_")[1]
        number = phones[region]
        if kind.endswith("_INTL"):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        if kind.startswith("MSISDN_"):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    if kind == "IBAN_GB":
        return _grouped(_iban(rng, "GB", rng.choice(["NWBK", "BARC", "LOYD"]) + _digits(rng, 14)))
    if kind == "IBAN_DE":
        return _grouped(_iban(rng, "DE", _digits(rng, 18)))
    if kind == "IBAN_NL":
        return _iban(rng, "NL", rng.choice(["ABNA", "INGB", "RABO"]) + _digits(rng, 10))
    if kind == "IBAN_ES":
        return _grouped(_iban(rng, "ES", _digits(rng, 20)))
    if kind == "CARD_VISA":
        return _grouped(_luhn("4" + _digits(rng, 14)))
    if kind == "CARD_MC":
        card = _luhn("5" + rng.choice("12345") + _digits(rng, 13))
        return "-".join(card[i:i + 4] for i in range(0, 16, 4))
    if kind == "CARD_AMEX":
        return _luhn("3" + rng.choice("47") + _digits(rng, 12))
    if kind == "EMAIL":
        return f"{rng.choice(EMAIL_NAMES)}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}"
    if kind == "IPV4":
        return f"{rng.choice([81, 86, 92, 109, 176, 213])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(2, 250)}"
    if kind == "IPV4_LAN":
        return f"192.168.{rng.choice([0, 1, 178])}.{rng.randint(20, 199)}"
    if kind == "IPV6":
        return "2a02:" + ":".join(f"{rng.randint(0x1000, 0xffff):x}" for _ in range(7))
    mac = [rng.randint(0, 255) for _ in range(6)]
    if kind == "MAC":
        return ":".join(f"{b:02X}" for b in mac)
    if kind == "MAC_DASH":
        return "-".join(f"{b:02x}" for b in mac)
    if kind == "MAC_CISCO":
        raw = "".join(f"{b:02x}" for b in mac)
        return ".".join(raw[i:i + 4] for i in range(0, 12, 4))
    if kind == "STREET":
        return f"{rng.randint(2, 480)} {rng.choice(STREET_NAMES)} {rng.choice(STREET_TYPES)}"
    if kind == "POSTCODE_UK":
        outward = rng.choice(["SW", "LS", "M", "B", "EH", "CF", "BS", "NW"]) + str(rng.randint(1, 20))
        return f"{outward} {rng.randint(1, 9)}{rng.choice('ADEFHJLNPRSTUWXYZ')}{rng.choice('ABDEFHJLNPQRSTUWXYZ')}"
    if kind == "US_CITY_ZIP":
        city, state = rng.choice(US_CITIES)
        return f"{city}, {state} {rng.randint(10000, 99999)}"
    if kind == "DE_STREET":
        street = rng.choice(DE_STREETS)
        return f"{street} {rng.randint(1, 120)}{rng.choice(['', 'a', 'b'])}"
    if kind == "ACCOUNT":
        return f"ACC-{_digits(rng, 8)}"
    if kind == "CONTRACT":
        return f"CTR-{_digits(rng, 6)}"
    if kind == "PUK":
        return _digits(rng, 8)
    raise KeyError(kind)


def identity(kind: str, n: str) -> str:
    """Slots that plant the same real-world value: one phone number written three ways."""
    if kind.startswith(("PHONE_", "MSISDN_")):
        return f"PHONE/{kind.split('_')[1]}/{n}"
    return f"{kind}/{n}"


@dataclass
class Conversation:
    number: int
    """1-based index in CORPUS order (across formats)."""
    customer_id: str
    turns: list[tuple[str, str]]
    """(speaker code, template text with slots)."""
    values: dict[tuple[str, str], str] = field(default_factory=dict)
    """(kind, n) -> planted value."""
    origin: tuple[str, int] = ("", 0)
    """(file, record) as the import reports it."""

    def fill(self, text: str) -> str:
        return SLOT.sub(lambda m: self.values[(m.group(1), m.group(2))], text)


def plant(dialogues: list[list[tuple[str, str]]], rng: random.Random, start: int, customers: list[str]) -> list[Conversation]:
    conversations = []
    for i, turns in enumerate(dialogues):
        conv = Conversation(start + i, customers[i % len(customers)], turns)
        phones = {region: _phone(rng, region) for region in _PHONE_SHAPES}
        phone_sets: dict[str, dict] = {}
        for _, text in turns:
            for kind, n in SLOT.findall(text):
                if (kind, n) in conv.values:
                    continue
                if kind.startswith(("PHONE_", "MSISDN_")):
                    region = kind.split("_")[1]
                    phones_n = phone_sets.setdefault(n, {})
                    phones_n.setdefault(region, phones[region] if n == "1" else _phone(rng, region))
                    conv.values[(kind, n)] = _value(rng, kind, phones_n)
                else:
                    conv.values[(kind, n)] = _value(rng, kind, phones)
        conversations.append(conv)
    return conversations


# -- the three formats ----------------------------------------------------------------------

OPENAI_SPEAKERS = {"c": "customer", "a": "agent", "b": "bot", "s": "system"}
SHAREGPT_SPEAKERS = {"c": "human", "a": "gpt", "b": "gpt", "s": "system"}
CSV_SPEAKERS = {"c": "Customer", "a": "Agent", "b": "Bot", "s": "System"}
CSV_COLUMNS = "id=ticket_id,order=sent_at,role=speaker,text=message"


def write_openai(path: Path, conversations: list[Conversation]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for line, c in enumerate(conversations, 1):
            c.origin = (path.name, line)
            messages = [{"role": OPENAI_SPEAKERS[s], "content": c.fill(t)} for s, t in c.turns]
            f.write(json.dumps({"id": f"chat-{c.number}", "customer_id": c.customer_id, "messages": messages}) + "\n")


def write_sharegpt(path: Path, conversations: list[Conversation]) -> None:
    for i, c in enumerate(conversations, 1):
        c.origin = (path.name, i)
    records = [{"id": f"sg-{c.number}", "customer_id": c.customer_id,
                "conversations": [{"from": SHAREGPT_SPEAKERS[s], "value": c.fill(t)} for s, t in c.turns]}
               for c in conversations]
    path.write_text(json.dumps(records, indent=1, ensure_ascii=False), encoding="utf-8")


def write_csv(path: Path, conversations: list[Conversation], rng: random.Random) -> None:
    rows = []
    start = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
    for c in conversations:
        for j, (s, t) in enumerate(c.turns):
            stamp = start + dt.timedelta(days=c.number, minutes=2 * j)
            rows.append({"ticket_id": f"TCK-{1000 + c.number}", "sent_at": stamp.isoformat().replace("+00:00", "Z"),
                         "speaker": CSV_SPEAKERS[s], "message": c.fill(t), "customer_id": c.customer_id})
    rng.shuffle(rows)  # exports are not always in order: the timestamps order the turns
    for c in conversations:  # a conversation's record is the row where it first appears
        c.origin = (path.name, 2 + min(i for i, r in enumerate(rows) if r["ticket_id"] == f"TCK-{1000 + c.number}"))
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["ticket_id", "sent_at", "speaker", "message", "customer_id"])
        writer.writeheader()
        writer.writerows(rows)


@dataclass
class Corpus:
    folder: Path
    files: list[Path]
    conversations: list[Conversation]
    """Kept ones, in input order (openai, sharegpt, csv)."""
    rejected: list[Conversation]

    @property
    def planted(self) -> set[str]:
        return {v for c in self.conversations + self.rejected for v in c.values.values()}

    def surviving(self, text: str) -> list[str]:
        """Planted values in `text`, also with spaces removed (a value split across a line still counts)."""
        compact = re.sub(r"\s", "", text)
        return [v for v in self.planted if v in text or re.sub(r"\s", "", v) in compact]

    def found_under(self, folder: Path) -> list[str]:
        """Planted values in any file under `folder`."""
        return [v for path in folder.rglob("*") if path.is_file()
                for v in self.surviving(path.read_bytes().decode("utf-8", errors="replace"))]

    @property
    def customer_ids(self) -> set[str]:
        return {c.customer_id for c in self.conversations + self.rejected}


def write_corpus(folder: Path, seed: int = 7) -> Corpus:
    rng = random.Random(seed)
    customers = [f"CUST-{n:04d}" for n in range(1, 13)]  # 12 customers over 30 conversations
    openai_c = plant(OPENAI_DIALOGUES, rng, 1, customers)
    rejected = plant(REJECTED_DIALOGUES, rng, len(openai_c) + 1, customers)
    sharegpt_c = plant(SHAREGPT_DIALOGUES, rng, len(openai_c) + len(rejected) + 1, customers[3:])
    csv_c = plant(CSV_DIALOGUES, rng, len(openai_c) + len(rejected) + len(sharegpt_c) + 1, customers[6:])
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / "chats.jsonl", folder / "sharegpt.json", folder / "tickets.csv"]
    write_openai(files[0], openai_c + rejected)
    write_sharegpt(files[1], sharegpt_c)
    write_csv(files[2], csv_c, rng)
    return Corpus(folder, files, openai_c + sharegpt_c + csv_c, rejected)
